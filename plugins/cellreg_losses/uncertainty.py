"""Uncertainty weighting across labels (Kendall et al., 2018): a learned log-variance s_l per label,

    L = Σ_l [ ½ exp(−s_l) · L_l + ½ s_l ]   over the labels measured in the batch,

so labels on different scales or with different noise balance themselves. The weights exp(−s_l)
are always positive and finite; a label absent from a batch contributes nothing (and its s_l gets
no gradient), and a single label is just a learned rescaling: nothing can divide by zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cellreg import Loss
from cellreg_losses.masked import residual
from cellreg_losses.configs import UncertaintyConfig


def per_label(per_entry: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of ``per_entry`` over measured entries per label [L], and which labels have any [L]."""
    measured = ~torch.isnan(target)
    count = measured.sum(0)
    return torch.where(measured, per_entry, 0.0).sum(0) / count.clamp(min=1), count > 0


class UncertaintyWeighting(Loss):
    def __init__(self, config: UncertaintyConfig = UncertaintyConfig(), context=None) -> None:
        super().__init__()
        self.config = config
        n_labels = len(context.label_names) if context is not None else 1
        self.log_var = nn.Parameter(torch.zeros(n_labels))

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state=None, batch=None) -> torch.Tensor:
        r = residual(pred, target)
        entry = r ** 2 if self.config.base == "mse" else r + F.softplus(-2 * r) - torch.log(r.new_tensor(2.0))
        losses, present = per_label(entry, target)
        weighted = 0.5 * torch.exp(-self.log_var) * losses + 0.5 * self.log_var
        return torch.where(present, weighted, 0.0).sum()
