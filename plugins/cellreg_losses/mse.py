from __future__ import annotations

import torch

from cellreg import Loss
from cellreg_losses.masked import masked_mean, residual


class MSELoss(Loss):
    """Mean squared error per label over measured entries, averaged over labels."""

    def __init__(self, config=None, context=None) -> None:
        super().__init__()

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state=None, batch=None) -> torch.Tensor:
        return masked_mean(residual(pred, target) ** 2, target)
