"""Mean aggregation over one network as a sparse-dense product with a hand-written backward.

``mean_j x_j`` over the genes ``j`` sending to ``i`` is ``D⁻¹ A x`` (A: rows = receiving gene).
Its gradient is ``Aᵀ D⁻¹ g``. torch's own backward for a sparse CSR product re-sorts the matrix
to transpose it on every step; at yeast scale (2 M messages in STRING co-expression) that sort
is ~20× the cost of the product itself. Here ``Aᵀ`` is built once (for an undirected relation it
*is* A), so backward is one more product.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch_geometric.utils import coalesce


def _csr(edge_index: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(crow, col)`` with rows = ``edge_index[0]``, duplicates merged."""
    edge_index = coalesce(edge_index, num_nodes=n)
    crow = torch.zeros(n + 1, dtype=torch.long)
    crow[1:] = torch.bincount(edge_index[0], minlength=n).cumsum(0)
    return crow, edge_index[1].contiguous()


def _sparse(crow: torch.Tensor, col: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    with warnings.catch_warnings():  # torch's note that sparse CSR is "beta"
        warnings.filterwarnings("ignore", message=r"Sparse CSR tensor support")
        ones = torch.ones(col.numel(), dtype=dtype, device=col.device)
        return torch.sparse_csr_tensor(crow, col, ones, (n, n), check_invariants=False)


class _MeanAggregate(torch.autograd.Function):
    """Both products run in float32 with autocast off: autocast would otherwise recast the sparse
    product to the half type (no CPU kernel for bf16 CSR; on CUDA a silent bf16 sum)."""

    @staticmethod
    def forward(ctx, x, incoming, outgoing, inv_degree):
        ctx.outgoing = outgoing
        ctx.save_for_backward(inv_degree)
        with torch.autocast(device_type=x.device.type, enabled=False):
            return torch.sparse.mm(incoming, x.float()) * inv_degree.float().unsqueeze(-1)

    @staticmethod
    def backward(ctx, grad):
        (inv_degree,) = ctx.saved_tensors
        with torch.autocast(device_type=grad.device.type, enabled=False):
            scaled = grad.float() * inv_degree.float().unsqueeze(-1)
            return torch.sparse.mm(ctx.outgoing, scaled), None, None, None


class MeanAdjacency(nn.Module):
    """One relation's messages (``src -> dst``, both directions if undirected) as CSR index
    buffers: plain long tensors, rebuilt from the graph, never saved in a checkpoint."""

    def __init__(self, messages: torch.Tensor, n: int, symmetric: bool) -> None:
        super().__init__()
        self.n, self.symmetric = n, symmetric
        crow, col = _csr(messages.flip(0), n)  # rows = receiving gene
        degree = (crow[1:] - crow[:-1]).float()
        self.register_buffer("crow_in", crow, persistent=False)
        self.register_buffer("col_in", col, persistent=False)
        self.register_buffer("inv_degree", 1.0 / degree.clamp(min=1), persistent=False)
        if not symmetric:
            crow, col = _csr(messages, n)  # rows = sending gene
            self.register_buffer("crow_out", crow, persistent=False)
            self.register_buffer("col_out", col, persistent=False)

    def mean(self, x: torch.Tensor) -> torch.Tensor:
        """[n, d] -> [n, d]: each gene's mean over the genes sending to it (0 if none). The product
        runs in float32 with autocast disabled (sparse kernels for half types are patchy); the
        result is cast back to ``x``'s dtype."""
        incoming = _sparse(self.crow_in, self.col_in, self.n, torch.float32)
        outgoing = incoming if self.symmetric else _sparse(self.crow_out, self.col_out, self.n, torch.float32)
        return _MeanAggregate.apply(x.float(), incoming, outgoing, self.inv_degree).to(x.dtype)
