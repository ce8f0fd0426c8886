"""Any strain table, read with the ``table`` phenotype source's column options (docs/data_files.md):
``--option genes=\"genes\"``, ``gene_columns``, ``strip_suffix``, ``drop_genes``, ``labels``, ``filter``,
``[[environment]]`` and the rest. Every label column is a phenotype (its title made a name:
``Double mutant fitness`` -> ``double_mutant_fitness``); rows are kept as they are (replicates are
averaged, or not, by the ``store`` source that reads them)."""

from __future__ import annotations

from typing import Iterator

import attrs
import numpy as np
import pyarrow as pa

from cellreg.store.formats.base import Format, row_table
from cellreg.store.rows import Part, Phenotype, check_name, slug, strains_from_sets


class Table(Format):

    def config(self):
        from cellreg.config.schema import structure
        from cellreg.data.strain_table import TableConfig

        options = dict(self.options.table)
        if "path" in options:
            raise ValueError("--option path: the table is the FILE argument")
        errors: list[str] = []
        config = structure({**options, "path": str(self.path)}, TableConfig, "--option", errors)
        if errors:
            raise ValueError("; ".join(errors))
        if config.aggregate != attrs.fields(type(config)).aggregate.default:
            raise ValueError("--option aggregate: the store keeps every row; replicates are averaged by the store "
                             "source that reads them (replicates = \"mean\")")
        return config

    def check(self) -> None:
        from cellreg.data.strain_table import table_label_names

        super().check()
        config = self.config()
        header = self._header(config)
        wanted = config.gene_column_names + ([config.kinds] if config.kinds else []) + \
            [f.column for f in config.filter] + config.environment_columns + table_label_names(self.path, config)
        missing = [c for c in dict.fromkeys(wanted) if c not in header]
        if missing:
            raise ValueError(f"{self.path}: missing column{'s' * (len(missing) > 1)} {', '.join(map(repr, missing))} "
                             f"named by the table options; its header has: {', '.join(map(repr, header))}")

    def header(self) -> list[str]:
        return self._header(self.config())

    def _header(self, config) -> list[str]:
        from cellreg.toolkit.text_tables import read_table

        with read_table(self.path, config.delimiter, config.comment) as table:
            return [] if table.first is None else [h.strip() for h in table.first[1]]

    def parts(self) -> Iterator[Part]:
        from cellreg.data.environment_columns import read_environment
        from cellreg.data.strain_rows import read_rows
        from cellreg.data.strain_table import table_label_names
        from cellreg.store.envflat import to_arrays

        config = self.config()
        labels = table_label_names(self.path, config)
        names = {label: check_name(f"label {label!r} as a phenotype name", slug(label) or "value") for label in labels}
        if len(set(names.values())) < len(names):
            raise ValueError(f"{self.path}: two labels make the same phenotype name: {names}")
        rows, _ = read_rows(self.path, config, labels)
        env, meta = to_arrays(read_environment(config.environment, rows.text, self.path))
        offsets = np.concatenate([[0], np.cumsum(rows.sizes)])
        strains = strains_from_sets(offsets, rows.codes, rows.names, rows.kinds)
        for j, label in enumerate(labels):
            value = pa.array(rows.labels[:, j].astype(np.float64), from_pandas=True)
            yield self.with_constants(Part(Phenotype(names[label], description=f"column {label!r}"),
                                           row_table(strains, env, value, {}), meta))
