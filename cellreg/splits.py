"""Train / validation / test splits of a PhenotypeTable: deterministic for a seed, cached by content.

* ``random``: strains shuffled and cut by fraction.
* ``gene_held_out``: genes are shuffled; test takes every strain touching the first genes in that
  order until it holds ``test_fraction`` of the strains, validation the same among the rest, so every
  test (and validation) strain carries at least one gene that no training strain has.

The cache key hashes the table's content, the split settings and the seed: a cache written for
other data is never reused (design trap §7.5).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Literal

import attrs
import numpy as np

from cellreg.hashing import Hasher
from cellreg.phenotypes import PhenotypeTable

SplitKind = Literal["random", "gene_held_out"]


@attrs.frozen
class SplitConfig:
    """How strains are divided. ``cache_dir`` = "" disables the on-disk cache."""

    kind: SplitKind = "random"
    val_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
    test_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))
    seed: int = 0
    cache_dir: str = ""

    def __attrs_post_init__(self) -> None:
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must leave some strains for training")


@attrs.frozen(eq=False)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    key: str  # hash of data + settings; identical keys mean identical splits

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def split_key(table: PhenotypeTable, config: SplitConfig) -> str:
    h = Hasher()
    h.update_strings([table.fingerprint()])
    h.update_json({"kind": config.kind, "val": config.val_fraction, "test": config.test_fraction,
                   "seed": config.seed, "version": 1})
    return h.hexdigest()


def _random(n: int, config: SplitConfig, rng: np.random.Generator):
    perm = rng.permutation(n)
    n_test = int(round(config.test_fraction * n))
    n_val = int(round(config.val_fraction * n))
    return perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]


def _first_rank(table: PhenotypeTable, rank: np.ndarray) -> np.ndarray:
    """Per strain, the smallest rank among its genes (strains with no gene get +inf)."""
    out = np.full(table.num_strains, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, table.strain_of_entry, rank[table.genes])
    return out


def _take_until(first: np.ndarray, candidates: np.ndarray, target: int) -> np.ndarray:
    """Candidates whose first rank is below the smallest cut that covers ``target`` of them."""
    if target <= 0 or len(candidates) == 0:
        return candidates[:0]
    ranks = np.sort(first[candidates])
    cut = ranks[min(target, len(ranks)) - 1]
    return candidates[first[candidates] <= cut]


def _gene_held_out(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    n = table.num_strains
    rank = rng.permutation(len(table.gene_names)).astype(np.int64)
    first = _first_rank(table, rank)
    every = np.arange(n)
    test = _take_until(first, every, int(round(config.test_fraction * n)))
    rest = np.setdiff1d(every, test, assume_unique=True)
    val = _take_until(first, rest, int(round(config.val_fraction * n)))
    train = np.setdiff1d(rest, val, assume_unique=True)
    if len(train) == 0:
        raise ValueError("gene_held_out split left no training strains; lower the fractions")
    return train, val, test


def make_split(table: PhenotypeTable, config: SplitConfig) -> Split:
    """Compute (or read from the content-keyed cache) the split of ``table``."""
    key = split_key(table, config)
    cache = _cache_path(config, key)
    if cache is not None and cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return Split(z["train"], z["val"], z["test"], key)
    rng = np.random.default_rng(config.seed)
    if config.kind == "random":
        train, val, test = _random(table.num_strains, config, rng)
    else:
        train, val, test = _gene_held_out(table, config, rng)
    split = Split(np.sort(train), np.sort(val), np.sort(test), key)
    if cache is not None:
        _atomic_save(cache, train=split.train, val=split.val, test=split.test,
                     meta=np.array(json.dumps(attrs.asdict(config))))
    return split


def _cache_path(config: SplitConfig, key: str) -> Path | None:
    if not config.cache_dir:
        return None
    return Path(config.cache_dir).expanduser() / f"split-{config.kind}-{key}.npz"


def _atomic_save(path: Path, **arrays) -> None:
    """Write to a temporary file and rename, so concurrent writers can never leave a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
