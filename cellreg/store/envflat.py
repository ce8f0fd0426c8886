"""Environments in flat form: each :class:`~cellreg.data.environment.EnvColumn` as Parquet columns
``env.<name>`` (a float64 for numeric, a string for categorical, the compound for a dose with the dose
in ``env.<name>.dose``), with kind and unit in the catalog; and back, for the ``store`` source."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.data.environment import EnvColumn, EnvKind, Environment

DOSE = ".dose"


def to_arrays(env: Environment) -> tuple[dict[str, pa.Array], dict[str, tuple[str, str]]]:
    """(column name without ``env.`` -> array, env name -> (kind, unit))."""
    arrays: dict[str, pa.Array] = {}
    meta: dict[str, tuple[str, str]] = {}
    for c in env.columns:
        meta[c.name] = (c.kind.value, c.unit)
        if c.kind is not EnvKind.CATEGORICAL:
            values = pa.array(c.values.astype(np.float64), from_pandas=True)  # NaN -> null
            arrays[c.name + (DOSE if c.kind is EnvKind.DOSE else "")] = values
        if c.kind is not EnvKind.NUMERIC:
            arrays[c.name] = pa.DictionaryArray.from_arrays(pa.array(c.codes.astype(np.int32)),
                                                            pa.array(list(c.categories), pa.string()))
    return arrays, meta


def from_arrays(table: pa.Table, meta: Mapping[str, tuple[str, str]]) -> Environment:
    """The environment of ``table``'s rows from its ``env.*`` columns; a row with no value in a column
    (a study that did not record it) is NaN (numeric, dose) or ``""`` (categorical)."""
    columns = []
    for name, (kind, unit) in sorted(meta.items()):
        kind = EnvKind(kind)
        n = table.num_rows
        values = np.zeros(n, np.float32)
        codes = np.zeros(n, np.int32)
        categories: tuple[str, ...] = ()
        if kind is not EnvKind.CATEGORICAL:
            col = table[f"env.{name}" + (DOSE if kind is EnvKind.DOSE else "")]
            values = np.asarray(col.cast(pa.float64()).fill_null(np.nan), np.float32)
        if kind is not EnvKind.NUMERIC:
            text = table[f"env.{name}"].cast(pa.string()).fill_null("")
            enc = pc.dictionary_encode(text.combine_chunks())
            categories = tuple(enc.dictionary.to_pylist())
            codes = np.asarray(enc.indices, np.int32)
        columns.append(EnvColumn(name, kind, values, codes, categories, unit))
    return Environment(tuple(columns))
