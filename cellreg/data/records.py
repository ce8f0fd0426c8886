"""The records a data source hands the core besides a graph or a table: vectors for genes
(:class:`GeneFeatures`) and new strains to score (:class:`NewStrains`).

They live in the data layer, which the plugin contracts build on (``cellreg.plugin_api`` re-exports
them for plugin authors), so the data layer never imports the contracts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    from cellreg.data.phenotypes import PhenotypeTable


@attrs.frozen
class NewStrains:
    """What :meth:`PhenotypeSource.read_strains` returns: the strains (no labels), and any other
    columns of the file, one string per strain, which ``cellreg predict`` carries into its output."""

    table: PhenotypeTable
    columns: dict[str, list[str]] = attrs.field(factory=dict)


@attrs.frozen(eq=False)
class GeneFeatures:
    """Vectors for some genes, as a :class:`FeatureSource` gives them: ``values[i]`` belongs to
    ``genes[i]``; ``columns`` names the ``F`` columns (for messages and ``cellreg inspect``)."""

    genes: tuple[str, ...] = attrs.field(converter=tuple)
    values: np.ndarray  # [G, F] float32
    columns: tuple[str, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape != (len(self.genes), len(self.columns)):
            raise ValueError(f"features: values must be [{len(self.genes)} genes, {len(self.columns)} columns], "
                             f"got {list(self.values.shape)}")
