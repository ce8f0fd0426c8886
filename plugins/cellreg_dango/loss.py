"""The reconstruction term: reads what the DANGO encoder computed in the same forward."""

from __future__ import annotations

import torch

from cellreg import CellState, Context, Loss
from cellreg_dango.records import Reconstruction


class ReconstructionLoss(Loss):
    """Σ over networks of the λ-weighted sparse MSE, times the schedule's reconstruction factor
    (1 in pretraining, ``joint_recon_weight`` in joint training). 0 in evaluation mode."""

    def __init__(self, config=None, context: Context | None = None) -> None:
        super().__init__()
        encoder = context.encoder if context is not None else None
        if encoder is not None and Reconstruction not in encoder.provides:
            raise ValueError("loss 'dango_reconstruction' needs the 'dango' encoder, which computes "
                             f"the reconstruction; this run's encoder is {type(encoder).__name__}")

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state: CellState, batch=None) -> torch.Tensor:
        record = state.extra(Reconstruction)
        if record is None:
            return pred.new_zeros(())
        return record.factor * record.errors.sum()
