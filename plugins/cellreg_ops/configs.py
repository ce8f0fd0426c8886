"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

import attrs


@attrs.frozen
class KHopConfig:
    k: int = attrs.field(default=1, validator=attrs.validators.ge(1))
