"""What the DANGO encoder hands its head and its reconstruction loss in ``CellState.extras``."""

from __future__ import annotations

import attrs
import torch


@attrs.frozen
class JointSchedule:
    """The schedule's factor on the prediction objective this epoch (0 in pretraining)."""

    main_factor: float


@attrs.frozen
class Reconstruction:
    """Training only: each network's reconstruction error on the sampled ``rows``, and the schedule's
    factor on it."""

    errors: torch.Tensor  # [R]
    rows: torch.Tensor  # [recon_rows] gene indices
    factor: float
