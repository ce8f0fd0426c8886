"""Wide profile tables, one row per strain and one column per feature (CalMorph's layout), as TSV,
CSV or Parquet. A strain column names each row's genes (joined by ``+``); the reference is the mean
of the rows named in ``reference`` (e.g. the wild type) and of every row of ``reference_path``, or
nothing with ``values = "change"`` (the file holds changes already). Rows of one strain are
averaged, feature by feature, over their measured values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from cellreg.data.profiles import Profiles, duplicate_names
from cellreg_profiles.aggregate import group_means
from cellreg_profiles.columns import delimiter_of, numeric, strings
from cellreg_profiles.configs import ProfilesConfig


def read_arrow(path: Path) -> tuple[pa.Table, int]:
    """The table and the line number of its first data row (1 for Parquet's first row)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path), 1
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter=delimiter_of(path))
    return csv.read_csv(path, parse_options=parse), 2


def _matrix(table: pa.Table, path: Path, first_line: int, features: list[str]) -> np.ndarray:
    names = table.column_names
    return np.stack([numeric(table, names.index(f), path, first_line) for f in features], 1) if features \
        else np.zeros((table.num_rows, 0))


def read_wide(path: Path, config: ProfilesConfig) -> Profiles:
    table, first = read_arrow(path)
    names = table.column_names
    if config.strain_column not in names:
        raise ValueError(f"{path}: no column {config.strain_column!r} naming the strains (strain_column); "
                         f"columns: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}")
    dups = duplicate_names(names)
    if dups:
        raise ValueError(f"{path}: the header names {len(dups)} column(s) more than once, e.g. "
                         f"{', '.join(map(repr, dups[:5]))}")
    features = list(config.features) or [c for c in names if c != config.strain_column
                                         and c not in config.ignore_columns]
    absent = [f for f in features if f not in names]
    if absent:
        raise ValueError(f"{path}: no feature column(s) {', '.join(map(repr, absent[:5]))} (features)")
    values = _matrix(table, path, first, features)
    labels = strings(table, config.strain_column)
    is_reference = np.isin(labels, list(config.reference)) if config.reference else np.zeros(len(labels), bool)
    reference_rows = [values[is_reference]]
    if config.reference_path is not None:
        ref_path = Path(config.reference_path)
        ref_table, ref_first = read_arrow(ref_path)
        absent = [f for f in features if f not in ref_table.column_names]
        if absent:
            raise ValueError(f"{ref_path}: the reference lacks feature column(s) "
                             f"{', '.join(map(repr, absent[:5]))} of {path}")
        reference_rows.append(_matrix(ref_table, ref_path, ref_first, features))
    if config.values == "absolute":
        ref = np.concatenate(reference_rows)
        if not len(ref):
            raise ValueError(f"{path}: no reference rows (reference = {list(config.reference)} matches no value "
                             f"of {config.strain_column!r}); give reference = [...] or reference_path, or "
                             "values = \"change\" when the file holds changes already")
        reference, _ = group_means(ref, np.zeros(len(ref), np.int64), 1)
        reference = reference[0]
        missing = np.flatnonzero(np.isnan(reference))
        if len(missing):
            where = config.reference_path or path
            raise ValueError(f"{where}: feature column(s) {', '.join(repr(features[i]) for i in missing[:5])} have "
                             "no measured value in the reference rows")
    else:
        reference = np.zeros(len(features))
    rows = np.flatnonzero(~is_reference)
    keys = ["+".join(sorted(p.strip() for p in labels[r].split(config.separator) if p.strip())) for r in rows]
    unique, strain_of = np.unique(np.asarray(keys, dtype=object).astype(str), return_inverse=True)
    if len(unique) and unique[0] == "":
        empty = rows[strain_of == 0][0]
        raise ValueError(f"{path}: line {first + empty}, column {config.strain_column!r}: no gene named")
    means, nan_count = group_means(values[rows], strain_of, len(unique))
    strains = [tuple(k.split("+")) for k in unique]
    return Profiles(strains, (means - reference).astype(np.float32), features, reference.astype(np.float32),
                    nan_count)
