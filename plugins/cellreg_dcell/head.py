"""The DCell head: the root term's neurons, read out linearly (the paper's final layer)."""

from __future__ import annotations

from torch import nn

from cellreg import Batch, CellState, Context, PerturbationHead, Prediction


class RootHead(PerturbationHead):
    def __init__(self, config, context: Context) -> None:
        super().__init__()
        self.linear = nn.Linear(context.encoder.dim, len(context.label_names))
        self.embedding_dim = context.encoder.dim  # the root term's state

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        if state.cell is None or state.cell.dim() != 2:
            raise ValueError("head 'dcell' reads a per-strain cell state [B, d] (encoder 'dcell')")
        return Prediction(self.linear(state.cell), strain_embedding=state.cell)
