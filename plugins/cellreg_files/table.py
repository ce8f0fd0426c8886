"""PhenotypeSource ``table``: the core's strain-table reader with its options taken from the config.

New strains (``cellreg predict``) are read with the same options (delimiter, comment, suffix to
strip, genes to drop), so e.g. Costanzo's ``YAL001C_dma1`` names read alike in training and scoring.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from cellreg import Context, NewStrains, PhenotypeSource, StrainColumns
from cellreg.config import DataError
from cellreg.data.environment_columns import environment_kinds
from cellreg.data.label_groups import LabelGroup
from cellreg.data.strain_table import TableConfig, TableStats, load_strain_table, read_new_strains, start_reading, \
    table_label_names
from cellreg.toolkit.text_tables import suggest

if TYPE_CHECKING:
    from cellreg import CellGraph, PhenotypeTable


class PerturbationTableSource(PhenotypeSource):
    def __init__(self, config: TableConfig, context: Context):
        if config.aliases is not None:  # resolved once, so every file read with these options finds it
            config = attrs.evolve(config, aliases=str(context.resolve(config.aliases)))
        self.config = config
        self.path = context.resolve(config.path)
        self.stats: TableStats | None = None  # what the last load did (rows, filtered, dropped, merged)

    def describe(self) -> str:
        return self.config.path

    def report(self) -> dict[str, str]:
        if self.stats is None:
            return {}
        st = self.stats
        return {"rows read": f"{st.rows:,}", "filtered out": f"{st.filtered_out:,}",
                "strains dropped for unknown genes": f"{st.unknown_dropped:,}",
                "strains naming a gene twice (kept once)": f"{st.repeated_genes:,}",
                "replicate rows averaged": f"{st.replicate_rows:,} into {st.merged_strains:,} strains",
                "strains": f"{st.strains:,}"}

    def check(self) -> list[str]:
        missing = [] if self.path.is_file() else [f"phenotypes.path: no such file: {self.path}"]
        if self.config.aliases is not None and not Path(self.config.aliases).is_file():
            missing.append(f"phenotypes.aliases: no such file: {self.config.aliases}")
        if not missing and self.config.groups:  # each group's labels are columns of the table
            names = self.label_names()
            missing += [f"phenotypes.groups[{i}].labels: no label {n!r} in {self.path}{suggest(n, names)}; labels are: "
                        f"{', '.join(names)}" for i, spec in enumerate(self.config.groups) for n in spec.labels
                        if n not in names]
        return missing

    def label_names(self) -> list[str]:
        return table_label_names(self.path, self.config)

    def label_groups(self) -> list[LabelGroup]:
        return [spec.group() for spec in self.config.groups]

    def _grouped(self, table: PhenotypeTable, path: Path) -> PhenotypeTable:
        """The table with the configured label groups (``[[phenotypes.groups]]``)."""
        if not self.config.groups:
            return table
        try:
            return attrs.evolve(table, label_groups=self.label_groups())
        except ValueError as exc:
            raise DataError(str(path), [f"phenotypes.groups: {exc}"]) from None

    def environment_kinds(self) -> dict[str, str]:
        return {name: kind.value for name, kind in environment_kinds(self.config.environment).items()}

    def read_ahead(self) -> None:
        start_reading(self.path, self.config)

    def load(self, graph: CellGraph) -> PhenotypeTable:
        table, self.stats = load_strain_table(self.path, graph, self.config)
        return self._grouped(table, self.path)

    def read_labelled(self, path: Path, graph: CellGraph) -> PhenotypeTable:
        return self._grouped(load_strain_table(path, graph, attrs.evolve(self.config, path=str(path)))[0], path)

    def read_strains(self, path: Path, graph: CellGraph, columns: StrainColumns) -> NewStrains:
        config = attrs.evolve(self.config, path=str(path), **columns.table_options(),
                              gene_separator=columns.separator, kinds=columns.kinds, default_kind="deletion",
                              labels=[], unknown_genes="add",
                              # a file of new strains: every row is scored, its other columns carried as they are
                              filter=[], keep=[], conditions=[], aggregate="none", groups=[])
        return read_new_strains(path, graph, config)
