"""How strains are divided: the ``[split]`` table, a schema with no behaviour (see :mod:`cellreg.data.splits`)."""

from __future__ import annotations

from typing import Literal

import attrs

SplitKind = Literal["random", "gene_held_out", "pair_disjoint"]


@attrs.frozen
class SplitConfig:
    """How strains are divided. ``cache_dir`` = "" disables the on-disk cache."""

    kind: SplitKind = "random"
    val_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))  # an empty validation set selects nothing
    test_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))
    seed: int = 0
    cache_dir: str = ""

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must leave some strains for training")
