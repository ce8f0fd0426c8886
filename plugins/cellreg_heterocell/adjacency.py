"""One message type of the wild-type graph as a sparse matrix shared by every strain of a batch.

Strains stack as columns: ``A @ X`` with X of shape [N_src, S·d] sums the messages of all S
strains in one sparse product, so a batch never holds B copies of the edges or B·|E| messages.
The transpose is kept too, so the backward pass is a second product instead of a re-sort of A.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn



class _SharedSpMM(torch.autograd.Function):
    """Products in the operands' dtype (float32 or wider) with autocast off, forward and backward:
    autocast would otherwise recast them to the half type (no CPU kernel for bf16 CSR; on CUDA a
    silent bf16 sum)."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, a_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.a_t = a_t
        with torch.autocast(device_type=x.device.type, enabled=False):
            return torch.sparse.mm(a, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        with torch.autocast(device_type=grad.device.type, enabled=False):
            return None, None, torch.sparse.mm(ctx.a_t, grad.to(ctx.a_t.dtype).contiguous())


def _csr(row: torch.Tensor, col: torch.Tensor, value: torch.Tensor, shape: tuple[int, int]):
    order = torch.argsort(row * shape[1] + col, stable=True)
    crow = torch.zeros(shape[0] + 1, dtype=torch.long)
    crow[1:] = torch.cumsum(torch.bincount(row, minlength=shape[0]), 0)
    return crow, col[order], value[order]


class SharedAdjacency(nn.Module):
    """``A[dst, src] = weight`` for messages src → dst; the buffers follow the module's device and dtype."""

    def __init__(self, src: torch.Tensor, dst: torch.Tensor, weight: torch.Tensor, num_src: int, num_dst: int) -> None:
        super().__init__()
        self.shape = (num_dst, num_src)
        for name, (r, c, n) in {"fwd": (dst, src, (num_dst, num_src)), "bwd": (src, dst, (num_src, num_dst))}.items():
            crow, col, val = _csr(r, c, weight, n)
            self.register_buffer(f"{name}_crow", crow, persistent=False)
            self.register_buffer(f"{name}_col", col, persistent=False)
            self.register_buffer(f"{name}_val", val, persistent=False)

    def _matrix(self, name: str, shape: tuple[int, int]) -> torch.Tensor:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": the product we use is not
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(getattr(self, f"{name}_crow"), getattr(self, f"{name}_col"),
                                           getattr(self, f"{name}_val"), shape, check_invariants=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[num_src, C] -> [num_dst, C]: the weighted sum of incoming messages, column by column.
        Computed in (at least) float32 whatever ``x``'s dtype or the autocast dtype, and returned so."""
        dtype = torch.promote_types(x.dtype, torch.float32)  # half types -> float32; float64 stays
        a = self._matrix("fwd", self.shape)
        a_t = self._matrix("bwd", self.shape[::-1])
        return _SharedSpMM.apply(a.to(dtype), a_t.to(dtype), x.to(dtype))
