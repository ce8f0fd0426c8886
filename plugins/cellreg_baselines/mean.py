"""The label-mean baseline: the floor every model must clear (Pearson is undefined for it)."""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Batch, CellState, Context, Encoder, PerturbationHead, Prediction


class NoEncoder(Encoder):
    """An encoder that computes nothing, for heads that need no cell state."""

    per_strain = False
    dim = 0

    def __init__(self, config=None, context: Context | None = None) -> None:
        super().__init__()

    def forward(self, batch: Batch) -> CellState:
        return CellState()


class MeanHead(PerturbationHead):
    """Predicts one learned constant per label; with MSE it converges to the training mean."""

    takes_environment = False  # one constant for every strain: no embedding to condition

    def __init__(self, config, context: Context) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(len(context.label_names)))

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        return Prediction(self.bias.expand(batch["row"].shape[0], -1))
