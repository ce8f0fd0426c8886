"""Config tables of the environment encoders (torch-free, so listing plugins stays fast)."""

from __future__ import annotations

import attrs


@attrs.frozen
class EncoderWidth:
    """``dim``: the width of the column's vector."""

    dim: int = attrs.field(default=8, validator=attrs.validators.ge(1))
