"""Per-label masking shared by the regression terms: NaN targets contribute nothing, and a label
with no measurement in the batch drops out of the average instead of turning it into 0/0."""

from __future__ import annotations

import torch


def masked_mean(per_entry: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over measured entries per label, then over the labels that have any. [B, L] -> scalar."""
    measured = ~torch.isnan(target)
    per_entry = torch.where(measured, per_entry, torch.zeros_like(per_entry))
    count = measured.sum(0)
    per_label = per_entry.sum(0) / count.clamp(min=1)
    has_data = (count > 0).to(per_label.dtype)
    return (per_label * has_data).sum() / has_data.sum().clamp(min=1)


def residual(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """pred - target with NaN targets replaced by pred (so the residual and its gradient are 0)."""
    return pred - torch.where(torch.isnan(target), pred.detach(), target)
