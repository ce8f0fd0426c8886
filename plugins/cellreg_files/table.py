"""PhenotypeSource ``table``: the core's strain-table reader with its options taken from the config.

New strains (``cellreg predict``) are read with the same options (delimiter, comment, suffix to
strip, genes to drop), so e.g. Costanzo's ``YAL001C_dma1`` names read alike in training and scoring.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from cellreg import CellGraph, Context, PhenotypeSource, PhenotypeTable, StrainColumns
from cellreg.data.strain_table import TableConfig, read_strain_table


class PerturbationTableSource(PhenotypeSource):
    def __init__(self, config: TableConfig, context: Context):
        self.config = config
        self.path = context.resolve(config.path)

    def describe(self) -> str:
        return self.config.path

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return read_strain_table(self.path, graph, self.config)

    def read_strains(self, path: Path, graph: CellGraph, columns: StrainColumns) -> PhenotypeTable:
        config = attrs.evolve(self.config, path=str(path), genes=columns.genes, gene_columns=None,
                              gene_separator=columns.separator, kinds=columns.kinds, default_kind="deletion",
                              labels=[], unknown_genes="add")
        return read_strain_table(path, graph, config)
