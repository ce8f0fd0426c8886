"""Loss term ``dcell_auxiliary``: alpha times the squared error of every non-root term's read-out."""

from __future__ import annotations

import torch

from cellreg import CellState, Context, Loss
from cellreg_dcell.configs import AuxiliaryLossConfig
from cellreg_dcell.records import TermPredictions


def per_term_mse(values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[T', B, L] read-outs against [B, L] targets (NaN = unmeasured) -> [T']: mean over measured
    entries per label, then over the labels that have any (as the ``mse`` term)."""
    measured = ~torch.isnan(target)
    err = torch.where(measured, values - target.nan_to_num(), torch.zeros_like(values)) ** 2
    count = measured.sum(0)
    per_label = err.sum(1) / count.clamp(min=1)  # [T', L]
    has = (count > 0).to(values.dtype)
    return (per_label * has).sum(1) / has.sum().clamp(min=1)


class AuxiliaryLoss(Loss):
    def __init__(self, config: AuxiliaryLossConfig, context: Context) -> None:
        super().__init__()
        if context.encoder is not None and TermPredictions not in type(context.encoder).provides:
            raise ValueError(f"loss 'dcell_auxiliary' reads the per-term read-outs of encoder 'dcell'; "
                             f"{type(context.encoder).__name__} gives none")
        self.reduce = config.reduce

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state: CellState, batch) -> torch.Tensor:
        record = state.extra(TermPredictions)
        if record is None or record.values.shape[0] == 0:
            return pred.new_zeros(())
        per_term = per_term_mse(record.values.float(), target)
        return record.weight * (per_term.sum() if self.reduce == "sum" else per_term.mean())
