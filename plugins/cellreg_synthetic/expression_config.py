"""The ``synthetic_expression`` source's config table, apart from its code (listing plugins and
checking configs import no torch)."""

from __future__ import annotations

import attrs

_ge0 = attrs.validators.ge(0)


@attrs.frozen
class SyntheticExpressionConfig:
    """``[phenotypes] name = "synthetic_expression"`` (docs/synthetic.md, "Expression profiles")."""

    group: str = "expression"
    features: int = attrs.field(default=0, validator=_ge0)  # measured genes (the first ones, at most all); 0 = all
    singles: bool = True  # every gene deleted once
    doubles: int = attrs.field(default=1000, validator=_ge0)
    relation: str = "regulatory"  # a deleted regulator moves its targets along this relation's out-edges
    regulator_effect: float = attrs.field(default=1.0, validator=_ge0)  # a target's log ratio, signed by its regulator
    programs: int = attrs.field(default=8, validator=attrs.validators.ge(1))  # pathways that move together
    program_effect: float = attrs.field(default=3.0, validator=_ge0)
    self_effect: float = attrs.field(default=0.5, validator=_ge0)  # a deleted gene's own transcript falls by this
    saturation: float = attrs.field(default=3.0, validator=attrs.validators.gt(0))  # s·tanh(Σ effects / s)
    latent_dim: int = attrs.field(default=16, validator=attrs.validators.ge(2))
    hops: int = attrs.field(default=3, validator=_ge0)
    noise: float = attrs.field(default=0.1, validator=_ge0)
    seed: int | None = None  # default: the run's seed
