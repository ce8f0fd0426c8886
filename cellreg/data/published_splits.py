"""Splits that a benchmark publishes, used as they are rather than re-drawn.

* ``column``: a column of the table says ``train``, ``val`` or ``test`` on every row;
* ``files``: the main table is training, and published test (and validation) files, read by the
  same phenotype source with its own options, are appended after it.

When no validation rows are given, validation is carved from training, reproducibly from the split
seed, replicate rows of one set together. A test set that shares perturbation sets with training
is an error that counts the overlap (the test label would be a training label), unless the config
says ``overlap = "drop_from_train"``: those training and validation rows are then left out.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from cellreg.config.errors import ConfigError
from cellreg.data.environment import concatenate_environments
from cellreg.data.phenotypes import PhenotypeTable

log = logging.getLogger("cellreg")

SIDES = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2}


def sides_from_column(values: np.ndarray, column: str) -> np.ndarray:
    """0 train / 1 val / 2 test per row from the cells of the split column (any case)."""
    cells = np.char.lower(np.char.strip(np.asarray(values, dtype=str)))
    uniq, inverse = np.unique(cells, return_inverse=True)
    bad = [str(u) for u in uniq if u not in SIDES]
    if bad:
        first = int(np.flatnonzero(np.isin(cells, bad))[0])
        raise ConfigError("split", [f"split.column: column {column!r} must say train, val or test on every row; "
                                    f"found {', '.join(map(repr, bad[:5]))} (first in row {first + 1} of the data)"])
    return np.asarray([SIDES[u] for u in uniq], np.int8)[inverse]


def concatenate(tables: Sequence[PhenotypeTable], origins: Sequence[str]) -> tuple[PhenotypeTable, np.ndarray]:
    """The tables one after another, on the first one's labels (each must have them all; extra
    columns are ignored); returns the table and each row's table index."""
    first = tables[0]
    for t, where in zip(tables[1:], origins[1:]):
        if t.gene_names != first.gene_names:
            raise ConfigError(where, ["its genes were read against another vocabulary than the main table's"])
        lacking = [n for n in first.label_names if n not in t.label_names]
        if lacking:  # its every value would be NaN, and the run's test metrics with them
            raise ConfigError(where, [f"no column for label(s) {', '.join(map(repr, lacking))}, which the main table "
                                      f"has; a published file must name the labels as the training table does"])
    labels = [np.stack([t.labels[:, t.label_names.index(n)] for n in first.label_names], 1)
              .astype(np.float32).reshape(len(t), len(first.label_names)) for t in tables]
    offsets = np.concatenate([[0]] + [t.offsets[1:] + sum(len(u.genes) for u in tables[:i])
                                      for i, t in enumerate(tables)])
    tags = {name: np.concatenate([t.tags[name] for t in tables]) for name in first.tags
            if all(name in t.tags for t in tables)}  # a column every file keeps
    try:  # read with the same options, so the same environment columns; categories merged by name
        environment = concatenate_environments([t.environment for t in tables])
    except ValueError as exc:
        raise ConfigError(origins[-1], [str(exc)]) from None
    table = PhenotypeTable(offsets, np.concatenate([t.genes for t in tables]),
                           np.concatenate([t.kinds for t in tables]), np.concatenate(labels),
                           first.label_names, first.gene_names, tags, environment, label_groups=first.label_groups)
    return table, np.repeat(np.arange(len(tables)), [len(t) for t in tables])


def carve_validation(side: np.ndarray, groups: np.ndarray, fraction: float, rng: np.random.Generator,
                     folds: int = 0, fold: int = 0) -> np.ndarray:
    """``side`` with ``fraction`` of the training rows moved to validation, whole groups at a time;
    with ``folds`` = K, fold ``fold`` of K disjoint folds dealt from the same shuffled groups."""
    train = np.flatnonzero(side == 0)
    uniq, inverse = np.unique(groups[train], return_inverse=True)
    order = rng.permutation(len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))[order]
    before = np.cumsum(counts) - counts  # training rows dealt before each shuffled group
    if folds:
        chosen = order[(before * folds) // max(len(train), 1) == fold]
    else:
        chosen = order[before < fraction * len(train)]
    out = side.copy()
    out[train[np.isin(inverse, chosen)]] = 1
    return out


def resolve_overlap(groups: np.ndarray, side: np.ndarray, policy: str) -> np.ndarray:
    """``side`` (0 train, 1 val, 2 test) when no test row repeats a perturbation set of the training or
    validation rows; else a ConfigError counting them, or with ``policy = "drop_from_train"`` the
    side with those training and validation rows set to -1 (left out)."""
    test = side == 2
    in_test = np.isin(groups, groups[test]) & ~test
    if not in_test.any():
        return side
    shared = int(np.isin(groups[test], groups[~test]).sum())
    what = (f"{shared:,} of {int(test.sum()):,} test strains repeat a perturbation set of the training or validation "
            f"rows ({int(in_test.sum()):,} of those rows)")
    if policy != "drop_from_train":
        raise ConfigError("split", [f"split.overlap: published split: {what}, so their test labels are training "
                                    'labels; set overlap = "drop_from_train" to leave those rows out of training '
                                    "and validation"])
    log.warning("published split: %s; dropped from training and validation (overlap = \"drop_from_train\")", what)
    out = side.copy()
    out[in_test] = -1
    return out
