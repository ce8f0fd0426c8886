"""Loss term ``graph_kl``: Σ_k λ_k KL_k over the graph-tied heads, read from the encoder's forward."""

from __future__ import annotations

import torch
from torch import nn


class GraphKLLoss(nn.Module):
    def __init__(self, config=None, context=None) -> None:
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state, batch) -> torch.Tensor:
        kl = state.aux.get("graph_kl", {})
        weights = state.aux.get("graph_kl_weights", {})
        total = pred.new_zeros(())
        for name, value in kl.items():  # empty in eval mode: the prior only shapes training
            total = total + weights.get(name, 1.0) * value
        return total
