"""What the DCell encoder hands its auxiliary loss term in ``CellState.extras``."""

from __future__ import annotations

import attrs
import torch


@attrs.frozen
class TermPredictions:
    """Every non-root term's auxiliary prediction of the labels, ``values`` [T', B, L] in
    standardized units, and the weight alpha of their losses in the objective."""

    values: torch.Tensor
    weight: float
