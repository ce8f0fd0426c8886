"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

from typing import Literal

import attrs


@attrs.frozen
class DistLossConfig:
    bins: int = attrs.field(default=512, validator=attrs.validators.ge(2))
    bandwidth: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))  # 0: Silverman's rule
    buffer_size: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # 0: the batch's labels
    distance: Literal["l2", "l1"] = "l2"


@attrs.frozen
class SupCRConfig:
    temperature: float = attrs.field(default=2.0, validator=attrs.validators.gt(0.0))
    label: str = ""  # which label orders the strains; "" = the first
    chunk: int = attrs.field(default=256, validator=attrs.validators.ge(1))
    max_strains: int = attrs.field(default=1024, validator=attrs.validators.ge(2))  # subsample larger batches


@attrs.frozen
class UncertaintyConfig:
    base: Literal["mse", "logcosh"] = "mse"  # the per-label term being weighted


@attrs.frozen
class ProfileLossConfig:
    likelihood: Literal["mse", "gaussian"] = "mse"  # gaussian: a learned variance per feature
    direction: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))  # weight of the sign hinge
    max_log_var: float = attrs.field(default=10.0, validator=attrs.validators.gt(0.0))
