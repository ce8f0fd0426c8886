"""Splits for the questions labs ask of environments (design §7d; PerturBench's ``transfer``):

* ``environment``: hold out values of one environment column: train at 30 °C, test at 26 °C;
  train on some doses, test on others. Validation is ``val_values`` when given, else a random
  ``val_fraction`` of the training rows (whole perturbation sets at a time).
* ``environment_transfer``: hold out strain × environment combinations: every test (and
  validation) row is a perturbation set that training saw under another environment.

Both are vectorised over strains (no Python loop over rows).
"""

from __future__ import annotations

import numpy as np

from cellreg.config import ConfigError
from cellreg.config.split_config import SplitConfig
from cellreg.data.environment import EnvColumn, EnvKind
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.strain_keys import groups, set_keys


def _column(table: PhenotypeTable, name: str) -> EnvColumn:
    if not table.environment:
        raise ConfigError("split", [f"split.kind: environment splits need environment columns; the phenotype table "
                                    "has none (declare them with [[phenotypes.environment]])"])
    try:
        return table.environment.column(name)
    except KeyError as exc:
        raise ConfigError("split", [f"split.environment: {exc.args[0]}"]) from None


def _matches(column: EnvColumn, values: list[str], key: str) -> np.ndarray:
    """[S] bool: rows whose value (a number for numeric and dose columns, else a name) is listed."""
    if column.kind is EnvKind.CATEGORICAL:
        unknown = [v for v in values if v not in column.categories]
        if unknown:
            raise ConfigError("split", [f"split.{key}: {column.name!r} has no value {unknown[0]!r}; its values are: "
                                        f"{', '.join(column.categories)}"])
        return np.isin(column.codes, [column.categories.index(v) for v in values])
    try:
        numbers = np.array([float(v) for v in values], np.float32)
    except ValueError:
        raise ConfigError("split", [f"split.{key}: {column.name!r} is {column.kind.value}: give numbers as strings "
                                    f"(e.g. [\"26\"]), got {values}"]) from None
    hit = np.isin(column.values, numbers)
    missing = [v for v, n in zip(values, numbers) if not (column.values == n).any()]
    if missing:
        present = np.unique(column.values[np.isfinite(column.values)])
        raise ConfigError("split", [f"split.{key}: no strain has {column.name} = {missing[0]}; its values are: "
                                    f"{', '.join(f'{v:g}' for v in present[:20])}"])
    return hit


def held_out_environment(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    column = _column(table, config.environment)
    test = _matches(column, config.test_values, "test_values")
    if config.val_values:
        val = _matches(column, config.val_values, "val_values")
    else:  # whole sets: a set's rows at the training values go to validation together
        ids, counts = groups(set_keys(table.offsets, table.genes, table.kinds))
        chosen = rng.random(len(counts)) < config.val_fraction
        val = chosen[ids] & ~test
    train = ~(test | val)
    return np.flatnonzero(train), np.flatnonzero(val), np.flatnonzero(test)


def environment_transfer(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    if not table.environment:
        _column(table, "")
    ids, counts = groups(set_keys(table.offsets, table.genes, table.kinds))  # the set, whatever the environment
    n = table.num_strains
    order = np.lexsort((rng.random(n), ids))  # rows grouped by set, in random order within each
    first = np.zeros(n, bool)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first[order[starts]] = True  # one row of every set stays in training
    eligible = np.flatnonzero(~first)  # rows whose set has another row, kept for training
    rng.shuffle(eligible)
    n_test, n_val = int(round(config.test_fraction * n)), int(round(config.val_fraction * n))
    if n_test + n_val > len(eligible):
        raise ConfigError("split", [f"split.kind: environment_transfer can hold out at most {len(eligible):,} of "
                                    f"{n:,} strains (a set measured under k environments lends k - 1), fewer than "
                                    f"test_fraction + val_fraction ask ({n_test + n_val:,})"])
    test, val = eligible[:n_test], eligible[n_test:n_test + n_val]
    train = np.ones(n, bool)
    train[test] = train[val] = False
    return np.flatnonzero(train), val, test
