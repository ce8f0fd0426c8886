"""The deleteome's matrix form (Kemmeren et al. 2014): one row per gene (feature), one column per
deletion mutant, values = log ratios against the reference pool (so the change is native and the
reference is 0).

The published file has two header lines: the first names each column (``reporterId``,
``systematicName``, ``geneSymbol``, then ``<gene>-del vs. wt`` three times per mutant), the second
its data type (``M``, ``A``, ``p_value``). ``value_type`` keeps one type (``value_type = ""`` reads a
one-line header); ``mutant_pattern`` takes the deleted gene from a column name; columns that do not
match it (identifiers, wild-type controls) are skipped and counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
from pyarrow import csv

from cellreg.data.profiles import Profiles, duplicate_names
from cellreg_profiles.aggregate import group_means
from cellreg_profiles.columns import delimiter_of, numeric, strings
from cellreg.toolkit.text_tables import splitter
from cellreg_profiles.configs import ProfilesConfig


def _header(path: Path, lines: int, delimiter: str) -> list[list[str]]:
    split = splitter(delimiter)
    with open(path, encoding="utf-8") as f:
        return [[c.strip() for c in split(f.readline().rstrip("\r\n"))] for _ in range(lines)]


def read_matrix(path: Path, config: ProfilesConfig) -> tuple[Profiles, int]:
    """(profiles, columns skipped)."""
    delimiter = delimiter_of(path)
    rows = 2 if config.value_type else 1
    header = _header(path, rows, delimiter)
    names = header[0]
    if config.feature_id_column not in names:
        raise ValueError(f"{path}: no column {config.feature_id_column!r} naming the features (feature_id_column); "
                         f"first header line: {', '.join(names[:10])}")
    pattern = re.compile(config.mutant_pattern, re.IGNORECASE)
    matches = [pattern.match(n) for n in names]
    keep = [i for i, m in enumerate(matches)
            if m is not None and (not config.value_type or (i < len(header[1]) and header[1][i] == config.value_type))]
    if not keep:
        raise ValueError(f"{path}: no column name matches mutant_pattern {config.mutant_pattern!r}"
                         + (f" with data type {config.value_type!r} on the second header line" if config.value_type
                            else ""))
    skipped = len(names) - len(keep) - 1  # every other column but the feature ids
    generated = [f"c{i}" for i in range(len(names))]
    table = csv.read_csv(path, read_options=csv.ReadOptions(skip_rows=rows, column_names=generated),
                         parse_options=csv.ParseOptions(delimiter=delimiter),
                         convert_options=csv.ConvertOptions(
                             column_types={generated[config_index]: pa.string()
                                           for config_index in [names.index(config.feature_id_column)]}))
    table = table.rename_columns(names) if len(set(names)) == len(names) else table
    features = strings(table, table.column_names[names.index(config.feature_id_column)])
    dups = duplicate_names(features)
    if dups:
        raise ValueError(f"{path}: column {config.feature_id_column!r} names {len(dups)} feature(s) more than once, "
                         f"e.g. {', '.join(map(repr, dups[:5]))}")
    values = np.stack([numeric(table, i, path, rows + 1, names[i]) for i in keep], 0) if keep else np.zeros((0, len(features)))
    genes = [matches[i].group(1) for i in keep]
    unique, mutant_of = np.unique(np.asarray(genes, dtype=object).astype(str), return_inverse=True)
    means, nan_count = group_means(values, mutant_of, len(unique))  # a mutant's columns averaged
    strains = [(g,) for g in unique]
    return Profiles(strains, means.astype(np.float32), features, np.zeros(len(features), np.float32),
                    nan_count), skipped
