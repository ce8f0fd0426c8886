"""The ``per_gene`` head's config table, apart from its code (listing plugins imports no torch)."""

from __future__ import annotations

from typing import Literal

import attrs

_ge1 = attrs.validators.ge(1)


@attrs.frozen
class PerGeneHeadConfig:
    """``[model.head] name = "per_gene"``: a profile read out from the gene tokens (docs/profiles.md)."""

    rank: int = attrs.field(default=32, validator=_ge1)  # width of the strain summary and the gene keys
    pool: Literal["mean", "sum", "attention"] = "mean"
    hidden: int = attrs.field(default=128, validator=_ge1)
    layers: int = attrs.field(default=2, validator=_ge1)
    dropout: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
    self_effect: bool = True  # a learned change, per perturbation type, of a perturbed gene's own feature
