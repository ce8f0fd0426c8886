"""Designs outside what a run's training saw (set sizes, perturbation kinds): refused by
``cellreg screen`` unless ``--allow-unseen``, since their ranks come from untrained parameters."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cellreg.config import ConfigError
from cellreg.data.phenotypes import Perturbation
from cellreg.screen.designs import Designs, DesignSpace, TableDesigns
from cellreg.training.coverage import Coverage


def design_sizes_kinds(space: Designs) -> tuple[set[int], set[int]]:
    """The set sizes and kinds (Perturbation codes) the designs take."""
    if isinstance(space, TableDesigns):
        return set(np.unique(space.table.set_sizes).tolist()), set(np.unique(space.table.kinds).tolist())
    assert isinstance(space, DesignSpace)
    sizes = {seg.size for seg in space.segments}
    kinds = {k for _, k in space.include}
    if any(seg.added for seg in space.segments):
        kinds.add(int(Perturbation.ADDITION))
    if any(seg.size - len(space.include) - seg.added > 0 for seg in space.segments):
        kinds |= set(space.kinds.tolist())
    return sizes, kinds


def check_unseen(space: Designs, coverages: Sequence[tuple[str, Coverage | None]], allow: bool) -> list[str]:
    """What the designs have that a run's training never saw, one line per run; a ConfigError unless ``allow``."""
    sizes, kinds = design_sizes_kinds(space)
    lines = [f"{name}: {'; '.join(out)}" for name, cov in coverages if cov is not None
             for out in [cov.outside(sizes, kinds)] if out]
    if lines and not allow:
        raise ConfigError("screen", [*lines, "these designs would be ranked through parameters that never trained; "
                                     "screen sizes and kinds the runs were trained on, or pass --allow-unseen"])
    return lines
