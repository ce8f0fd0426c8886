"""Meta-embedding: each gene weighs its networks by a learned score, softmax over networks.

``w_{i,r} = softmax_r(MLP(h_{i,r}))``, ``h_i = Σ_r w_{i,r} h_{i,r}``: a gene that is well covered by
one network and absent from another leans on the one that knows it.
"""

from __future__ import annotations

import torch
from torch import nn


class MetaEmbedding(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        # hidden = 0: one linear scorer, what the reference code uses
        self.score = (nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, 1)) if hidden
                      else nn.Linear(dim, 1))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h [N, R, d] -> (combined [N, d], weights [N, R])."""
        weights = torch.softmax(self.score(h).squeeze(-1), dim=-1)
        return (weights.unsqueeze(-1) * h).sum(1), weights
