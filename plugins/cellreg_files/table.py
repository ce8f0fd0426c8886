"""PhenotypeSource ``table``: the core's strain-table reader with its options taken from the config.

New strains (``cellreg predict``) are read with the same options (delimiter, comment, suffix to
strip, genes to drop), so e.g. Costanzo's ``YAL001C_dma1`` names read alike in training and scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from cellreg import Context, NewStrains, PhenotypeSource, StrainColumns
from cellreg.data.strain_table import TableConfig, read_new_strains, read_strain_table, table_label_names

if TYPE_CHECKING:
    from cellreg import CellGraph, PhenotypeTable


class PerturbationTableSource(PhenotypeSource):
    def __init__(self, config: TableConfig, context: Context):
        self.config = config
        self.path = context.resolve(config.path)

    def describe(self) -> str:
        return self.config.path

    def check(self) -> list[str]:
        return [] if self.path.is_file() else [f"phenotypes.path: no such file: {self.path}"]

    def label_names(self) -> list[str]:
        return table_label_names(self.path, self.config)

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return read_strain_table(self.path, graph, self.config)

    def read_labelled(self, path: Path, graph: CellGraph) -> PhenotypeTable:
        return read_strain_table(path, graph, attrs.evolve(self.config, path=str(path)))

    def read_strains(self, path: Path, graph: CellGraph, columns: StrainColumns) -> NewStrains:
        config = attrs.evolve(self.config, path=str(path), **columns.table_options(),
                              gene_separator=columns.separator, kinds=columns.kinds, default_kind="deletion",
                              labels=[], unknown_genes="add")
        return read_new_strains(path, graph, config)
