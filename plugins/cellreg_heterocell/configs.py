"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations


from typing import Literal

import attrs

PoolKind = Literal["mean", "sum", "attention"]


@attrs.frozen
class HeteroCellConfig:
    dim: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    layers: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    relations: list[str] = attrs.field(factory=list)  # gene–gene relations to use; empty = all
    metabolism: bool = True  # reactions and metabolites too, when the graph has them
    pool: PoolKind = "sum"  # sum: F(G) − F(G∖S) does not shrink as 1/N (see docs/heterocell.md)
    norm: bool = True  # LayerNorm in each layer's update
    dropout: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
    features: bool = True  # add a projection of the graph's gene features, when it has them
    init_std: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))  # 0: untrained genes are neutral


@attrs.frozen
class DifferenceHeadConfig:
    hidden: int = attrs.field(default=128, validator=attrs.validators.ge(1))
    layers: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    dropout: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
