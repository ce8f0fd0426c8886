"""What the transformer encoder hands its ``graph_kl`` loss term in ``CellState.extras``."""

from __future__ import annotations

import attrs
import torch


@attrs.frozen
class GraphKL:
    """Per tied head (by tie name): its KL against the graph (only in training; empty otherwise),
    and its weight λ in the objective."""

    terms: dict[str, torch.Tensor]
    weights: dict[str, float]
