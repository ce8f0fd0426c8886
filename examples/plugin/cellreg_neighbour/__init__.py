"""Example plugin: a wild-type encoder that mixes each gene's vector with its neighbours' mean.

This module is what the entry point names: the record and the config class, and no torch, so
``cellreg plugins`` and ``cellreg validate`` stay fast; the model (``encoder.py``) is imported only
when a run builds it.
"""

import attrs

from cellreg import Plugin, hookimpl


@attrs.frozen
class NeighbourMeanConfig:
    dim: int = attrs.field(default=64, validator=attrs.validators.ge(1))


@hookimpl
def cellreg_plugins():
    return [Plugin(kind="encoder", name="neighbour_mean", factory="cellreg_neighbour.encoder:NeighbourMeanEncoder",
                   config=NeighbourMeanConfig,
                   description="Gene vectors plus the mean of their graph neighbours' (example plugin).")]
