"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

import attrs


@attrs.frozen
class GeneEmbeddingConfig:
    dim: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    features: bool = True  # add a linear map of the graph's gene features ([[features]]) when it has them


@attrs.frozen
class SumMLPConfig:
    hidden: int = attrs.field(default=128, validator=attrs.validators.ge(1))
    layers: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    dropout: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
