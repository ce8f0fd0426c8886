"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

import attrs


_ge0 = attrs.validators.ge(0)


def _weights_non_negative(_, attribute, value):
    bad = {k: v for k, v in value.items() if not v >= 0}
    if bad:
        raise ValueError(f"'{attribute.name}' values must be >= 0: {bad}")


@attrs.frozen
class DangoConfig:
    dim: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    relations: list[str] = attrs.field(factory=list)  # empty: every string_* relation, else all
    zero_weight: dict[str, float] = attrs.field(factory=dict, validator=_weights_non_negative)  # λ overrides
    recon_rows: int = attrs.field(default=960, validator=attrs.validators.ge(1))  # sampled rows per step
    meta_hidden: int = attrs.field(default=32, validator=_ge0)  # 0: a single linear scorer
    pretrain_epochs: int = attrs.field(default=5, validator=_ge0)
    transition_epochs: int = attrs.field(default=0, validator=_ge0)
    joint_recon_weight: float = attrs.field(default=0.001, validator=_ge0)


_rate = attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.lt(1.0))


@attrs.frozen
class HyperSAGNNConfig:
    heads: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    head_dim: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # 0: the encoder's dim
    dropout_attention: float = attrs.field(default=0.3, validator=_rate)
    dropout_feedforward: float = attrs.field(default=0.4, validator=_rate)
    dropout_output: float = attrs.field(default=0.25, validator=_rate)
