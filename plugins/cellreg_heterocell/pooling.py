"""Whole-cell pooling over the live nodes of each strain, one pooled vector per node type.

Both input forms arrive as a dense [S, N, d] block with a [S, N] live mask (masks over the shared
graph as they are; batched subgraphs through PyG's ``to_dense_batch``), so one function pools
both and dead nodes count for nothing: not in a mean's denominator, not in a softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg_heterocell.configs import PoolKind


class MaskedPool(nn.Module):
    def __init__(self, kind: PoolKind, types: list[str], dim: int) -> None:
        super().__init__()
        self.kind = kind
        self.gate = nn.ModuleDict({t: nn.Linear(dim, 1) for t in types}) if kind == "attention" else None

    def forward(self, node_type: str, x: torch.Tensor, live: torch.Tensor) -> torch.Tensor:
        """x [S, N, d], live [S, N] bool -> [S, d]; a strain with no live node pools to 0."""
        w = live.to(x.dtype).unsqueeze(-1)
        if self.kind == "attention":
            logits = self.gate[node_type](x).squeeze(-1)  # bf16/fp16 under autocast, whatever x is
            logits = logits.masked_fill(~live, torch.finfo(logits.dtype).min)
            w = (torch.softmax(logits, dim=1) * live).unsqueeze(-1)  # no NaN when nothing lives
        pooled = (w * x).sum(1)
        if self.kind == "mean":
            pooled = pooled / w.sum(1).clamp(min=1)
        return pooled
