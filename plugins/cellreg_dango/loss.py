"""The reconstruction term: reads what the DANGO encoder computed in the same forward."""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Context


class ReconstructionLoss(nn.Module):
    """Σ over networks of the λ-weighted sparse MSE, times the schedule's reconstruction factor
    (1 in pretraining, ``joint_recon_weight`` in joint training). 0 in evaluation mode."""

    def __init__(self, config=None, context: Context | None = None) -> None:
        super().__init__()
        encoder = context.encoder if context is not None else None
        if encoder is not None and not getattr(encoder, "provides_reconstruction", False):
            raise ValueError("loss 'dango_reconstruction' needs the 'dango' encoder, which computes "
                             f"the reconstruction; this run's encoder is {type(encoder).__name__}")

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state, batch=None) -> torch.Tensor:
        errors = state.aux.get("reconstruction")
        if errors is None:
            return pred.new_zeros(())
        return state.aux["recon_factor"] * errors.sum()
