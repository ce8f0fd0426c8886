"""Loss term ``graph_kl``: Σ_k λ_k KL_k over the graph-tied heads, read from the encoder's forward."""

from __future__ import annotations

import torch

from cellreg import CellState, Loss
from cellreg_transformer.records import GraphKL


class GraphKLLoss(Loss):
    def __init__(self, config=None, context=None) -> None:
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state: CellState, batch) -> torch.Tensor:
        record = state.extra(GraphKL)
        total = pred.new_zeros(())
        if record is None:  # another encoder: nothing tied to a graph
            return total
        for name, value in record.terms.items():  # empty in eval mode: the prior only shapes training
            total = total + record.weights.get(name, 1.0) * value
        return total
