"""The environment readout: the one seam through which every family takes the environment.

Each ``[[environment]]`` term's encoder turns its column (``batch["env_values"][:, j]``,
``batch["env_codes"][:, j]``) into a vector; the vectors are concatenated into e [B, E]. The
head's strain embedding z [B, e] and e go through a small MLP whose output is added to the head's
values: ``y = g(F(G), S) + r([z ‖ e])``. The last layer starts at zero, so an untrained readout
leaves the head's predictions as they are, and the effect of a set can depend on the condition
(a module that matters only above a temperature), not just shift with it.
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg.plugin_api.contracts import Batch, EnvironmentEncoder


class EnvironmentReadout(nn.Module):
    def __init__(self, encoders: list[EnvironmentEncoder], embedding_dim: int, num_labels: int,
                 hidden: int = 64) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        width = sum(e.dim for e in encoders)
        self.mlp = nn.Sequential(nn.Linear(embedding_dim + width, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, num_labels))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def vector(self, batch: Batch) -> torch.Tensor:
        """e [B, E]: every column's encoding, side by side."""
        values, codes = batch["env_values"], batch["env_codes"]
        return torch.cat([enc(values[:, j], codes[:, j]) for j, enc in enumerate(self.encoders)], dim=1)

    def forward(self, embedding: torch.Tensor, batch: Batch) -> torch.Tensor:
        """[B, L] to add to the head's values."""
        e = self.vector(batch).to(embedding.dtype)
        return self.mlp(torch.cat([embedding, e], dim=1))
