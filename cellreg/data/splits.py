"""Train / validation / test splits of a PhenotypeTable: deterministic for a seed, cached by content.

* ``random``: strains shuffled and cut by fraction; strains with the same perturbation set (replicate
  rows, a pair listed as A+B and B+A) stay together, so no measured set is in training and test.
* ``gene_held_out``: genes are shuffled; test takes every strain touching the first genes in that
  order until it holds ``test_fraction`` of the strains, validation the same among the rest, so every
  test (and validation) strain carries at least one gene that no training strain has.
* ``pair_disjoint``: no unordered gene pair of a test (or validation) strain appears in any
  training strain. Strains that share a pair are tied together (connected components over pairs),
  and whole components are dealt in random order to test until it holds ``test_fraction`` of the
  strains, then to validation until it holds ``val_fraction``, the rest to training. Strains of one
  gene carry no pair and are split at random (replicates together).

``column`` and ``files`` use a benchmark's published split (:mod:`cellreg.data.published_splits`):
``sides`` (0 train, 1 val, 2 test per strain) comes from the table's column or from the files the
strains were read from; validation is carved from training when none is given.

Whatever the kind, an empty training, validation or test set is a ConfigError.

The cache key hashes the table's content, the split settings and the seed: a cache written for
other data is never reused (design trap §7.5).
"""

from __future__ import annotations

import json
import warnings
from concurrent.futures import Future
from pathlib import Path

import attrs
import numpy as np

from cellreg.config.errors import ConfigError
from cellreg.config.split_config import PUBLISHED, SplitConfig
from cellreg.data.published_splits import carve_validation, resolve_overlap, sides_from_column
from cellreg.toolkit.atomic import atomic_write
from cellreg.toolkit.hashing import Hasher
from cellreg.data.environment_splits import environment_transfer, held_out_environment
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.replicates import exact_set_keys
from cellreg.data.strain_keys import groups, joined, mix64, strain_keys
from cellreg.toolkit import table_cache
from cellreg.toolkit.parallel_index import each_block, take


@attrs.frozen(eq=False)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    _key: str | Future  # hash of data + settings; identical keys mean identical splits (a Future: still hashing)

    @property
    def key(self) -> str:
        """The key, waited for where the table's fingerprint is still being hashed (``make_split``)."""
        if isinstance(self._key, Future):
            object.__setattr__(self, "_key", self._key.result())
        return self._key

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


_VERSIONS = {"gene_held_out": 1, "random": 4}  # 3: 64-bit strain keys; 4: random sides by hash from 1 M strains


def split_key(table: PhenotypeTable, config: SplitConfig, sides: np.ndarray | None = None,
              fingerprint: str | None = None) -> str:
    """``fingerprint``: the table's, when the caller has it (hashing 20 M strains takes seconds)."""
    h = Hasher()
    h.update_strings([fingerprint or table.fingerprint()])
    if sides is not None:
        h.update_array(sides)
    if config.kind == "column":  # which of the table's kept columns says where each row goes
        h.update_strings([config.column])
    if config.kind == "environment":
        h.update_json({"environment": config.environment, "test_values": config.test_values,
                       "val_values": config.val_values})
    if config.kind in PUBLISHED and config.overlap != "error":  # which rows a repeated test set removes
        h.update_strings([f"overlap={config.overlap}"])
    if config.folds:  # a cross-validation fold of the carve (none: the keys of earlier splits hold)
        h.update_json({"folds": config.folds, "fold": config.fold})
    h.update_json({"kind": config.kind, "val": config.val_fraction, "test": config.test_fraction,
                   "seed": config.seed, "version": _VERSIONS.get(config.kind, 3)})
    return h.hexdigest()


HASHED_MIN_STRAINS = 1_000_000
"""From this many strains, a random split gives each perturbation set its side from a hash (:func:`_hashed`)."""


def _random(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    n = table.num_strains
    if n >= HASHED_MIN_STRAINS:
        return _hashed(table, config, rng)
    same, counts = _set_groups(table)
    if len(counts) < n:  # repeated sets: deal them as groups
        return _deal(same, n, config, rng, "rows of one perturbation set form a group", "repeated sets", counts)
    perm = rng.permutation(n)
    n_test = int(round(config.test_fraction * n))
    n_val = int(round(config.val_fraction * n))
    return perm[n_test + n_val:], perm[n_test:n_test + n_val], perm[:n_test]


HASH_BLOCK = 1 << 16
"""Strains per step of the hashed split's mix: its scratch arrays stay in the cache."""


def _hashed(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    """Each perturbation set (with its environment) on the side its hash falls in: test below
    ``test_fraction`` of the hash's range, validation in the next ``val_fraction``, training above.
    Replicates share a key, so they share a side, with no grouping of the strains at all (grouping 20 M
    strains in order of first appearance and dealing the groups took 2.6 s, this about 0.7 s). The
    parts hold their fractions to binomial noise (0.07 % of a 2 M-strain test set), and a set's side
    depends on the set, the vocabulary and the seed only: appending rows moves no strain."""
    n = table.num_strains
    keys = table.set_keys()
    if keys is None:  # sets too wide for exact keys: hashes of their entries (seconds at 20 M strains)
        keys = strain_keys(table)
    elif table.environment:  # a set under two environments is two strains, as the deal groups them
        keys = joined(keys, table.environment.key(n))  # 20 M pairs: 0.7 s, against 1.8 s for entry hashes
    else:
        keys = keys.view(np.uint64)
    word = rng.integers(0, np.iinfo(np.int64).max, dtype=np.int64).astype(np.uint64)
    top = float(2**64)
    cut_test, cut_val = (np.uint64(min(int(f * top), 2**64 - 1))
                         for f in (config.test_fraction, config.test_fraction + config.val_fraction))
    side = np.empty(n, np.uint8)  # 0 test, 1 validation, 2 training

    def block(a: int) -> None:  # the mix and the cuts a block at a time, in the cache (20 M pairs: 0.65 -> 0.48 s)
        where = mix64(keys[a:a + HASH_BLOCK] ^ word)
        np.add(where >= cut_test, where >= cut_val, out=side[a:a + HASH_BLOCK], dtype=np.uint8)

    each_block(block, n, HASH_BLOCK)
    test, val, train = (np.flatnonzero(side == k) for k in range(3))
    for name, part, fraction in (("test", test, config.test_fraction), ("validation", val, config.val_fraction)):
        share = len(part) / max(n, 1)
        if share > 2 * fraction:
            warnings.warn(f"random split: strains with one perturbation set go to one side, and sets repeated "
                          f"over many strains put {share:.0%} of them in {name} instead of {fraction:.0%}",
                          stacklevel=5)
    return train, val, test


def _same_sets(table: PhenotypeTable, extra: np.ndarray | None = None) -> np.ndarray:
    """[S] group ids: strains with the same (gene, kind) entries, in any order (and the same ``extra``
    key, e.g. an environment's), share one."""
    return _set_groups(table, extra)[0]


def _set_groups(table: PhenotypeTable, extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(group [S], counts [G])`` of strains with one set (and environment or ``extra`` key): from
    exact int64 set keys where they fit and no environment joins them (a pair screen; 20 M strains
    grouped in about 2 s where 64-bit hashes need an argsort), else from 64-bit strain keys."""
    keys = None
    if extra is None and not table.environment:
        keys = exact_set_keys(table.genes, table.kinds, table.set_sizes, [])
    return groups(keys if keys is not None else strain_keys(table, extra))


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
    for name, part, fraction in (("test", test, config.test_fraction), ("validation", val, config.val_fraction)):
        share = len(part) / max(n, 1)
        if len(part) and share > 2 * fraction:
            per_gene = np.bincount(table.genes, minlength=len(table.gene_names))
            warnings.warn(f"gene_held_out split: {name} holds {share:.0%} of the strains instead of {fraction:.0%}: "
                          f"genes are held out whole, with every strain carrying them, and the most common gene is "
                          f"in {per_gene.max():,} of {n:,} strains ({per_gene.max() / max(n, 1):.0%})", stacklevel=4)
    return train, val, test


def _pair_components(table: PhenotypeTable) -> np.ndarray:
    """Per strain, the id of its group of strains linked by shared gene pairs (-1: no pair)."""
    import scipy.sparse as sp  # here, not at the top: 0.2 s of every command that never splits so
    from scipy.sparse.csgraph import connected_components

    sizes = table.set_sizes
    strain = table.strain_of_entry
    # Every unordered pair inside each strain, as (strain, key) rows.
    pos = np.arange(len(table.genes))
    first = table.offsets[strain]
    a_idx, b_idx = [], []
    for i in range(int(sizes.max(initial=0))):  # loop over positions in a set (at most a few), not strains
        for j in range(i + 1, int(sizes.max(initial=0))):
            ok = (pos - first == i) & (sizes[strain] > j)
            a_idx.append(pos[ok])
            b_idx.append(pos[ok] + (j - i))
    if not a_idx or not sum(len(a) for a in a_idx):
        return np.full(table.num_strains, -1)
    a, b = np.concatenate(a_idx), np.concatenate(b_idx)
    ga, gb = table.genes[a].astype(np.int64), table.genes[b].astype(np.int64)
    keys = np.minimum(ga, gb) * len(table.gene_names) + np.maximum(ga, gb)
    pair_ids, pair_of_row = np.unique(keys, return_inverse=True)
    owner = strain[a]
    # Strains and pairs as one bipartite graph: components = groups that must stay together.
    n_s, n_p = table.num_strains, len(pair_ids)
    graph = sp.coo_matrix((np.ones(len(owner)), (owner, n_s + pair_of_row)), shape=(n_s + n_p, n_s + n_p))
    _, labels = connected_components(graph, directed=False)
    comp = labels[:n_s].copy()
    comp[sizes < 2] = -1
    return comp


def _pair_disjoint(table: PhenotypeTable, config: SplitConfig, rng: np.random.Generator):
    comp = _pair_components(table)
    # Singles (-1) carry no pair: each set of them (replicates together) is a group of its own.
    ids = np.where(comp >= 0, comp, comp.max(initial=-1) + 1 + _same_sets(table))
    return _deal(ids, table.num_strains, config, rng, "strains sharing gene pairs form a component", "shared pairs")


def _deal(ids: np.ndarray, n: int, config: SplitConfig, rng: np.random.Generator, what: str, by: str,
          counts: np.ndarray | None = None):
    """Whole groups (``ids`` [S]) dealt in random order: to test until it holds ``test_fraction`` of
    the strains, then to validation until it holds ``val_fraction``, the rest to training.
    ``counts``: ids are already group numbers 0..G-1 with these sizes (no second sort of 20 M ids)."""
    if counts is None:
        uniq, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    else:
        uniq, inverse = counts, ids
    order = rng.permutation(len(uniq))
    dealt = take(counts, order)  # one gather: a random read per group, on every core
    before = np.cumsum(dealt)  # strains dealt up to each group, in dealing order (increasing)
    before -= dealt  # ... and before it
    # test takes groups while it holds fewer than n_test strains: a prefix of the order; validation
    # then takes n_val of the rest, even when a big group made test overshoot
    n_test, n_val = config.test_fraction * n, config.val_fraction * n
    t = int(np.searchsorted(before, n_test))  # groups with before < n_test
    held = int(before[t]) if t < len(before) else n  # strains test took
    v = max(int(np.searchsorted(before, held + n_val)), t)
    side = np.zeros(len(uniq), dtype=np.int8)  # 0 train, 1 val, 2 test
    side[order[:t]] = 2
    side[order[t:v]] = 1
    strain_side = take(side, inverse)
    parts = tuple(np.flatnonzero(strain_side == k) for k in (0, 1, 2))
    for name, k, fraction in (("test", 2, config.test_fraction), ("validation", 1, config.val_fraction)):
        share = len(parts[k]) / max(n, 1)
        if share > 2 * fraction and counts.max() > 1:
            warnings.warn(f"{config.kind} split: {what} of {counts.max():,} strains, so {name} holds {share:.0%} "
                          f"instead of {fraction:.0%}; the data is too densely linked by {by} for these fractions",
                          stacklevel=5)
    return parts


def _published(table: PhenotypeTable, config: SplitConfig, sides: np.ndarray | None,
               rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    if config.kind == "column":
        if config.column not in table.tags:
            raise ConfigError("split", [f"split.column: the phenotype table has no column {config.column!r} "
                                        f"(kept columns: {', '.join(table.tags) or 'no column kept'}); a table source keeps it "
                                        f"with keep = [{config.column!r}] in [phenotypes]"])
        sides = sides_from_column(table.tags[config.column], config.column)
    groups = _same_sets(table)
    sides = resolve_overlap(groups, sides, config.overlap)  # before carving: validation from what training keeps
    if not (sides == 1).any():
        sides = carve_validation(sides, groups, config.val_fraction, rng, config.folds, config.fold)
    elif config.folds:
        raise ConfigError("split", [f"split.folds: the {config.kind} split gives its own validation rows; folds "
                                    "carve validation out of training only where none is given"])
    return tuple(np.flatnonzero(sides == k) for k in (0, 1, 2))


def _parts(table: PhenotypeTable, config: SplitConfig, sides: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """``(train, val, test)`` strain indices of the split ``config`` asks for."""
    rng = np.random.default_rng(config.seed)
    if config.kind in PUBLISHED:
        parts = _published(table, config, sides, rng)
    elif config.kind == "random":
        parts = _random(table, config, rng)
    elif config.kind == "gene_held_out":
        parts = _gene_held_out(table, config, rng)
    elif config.kind == "environment":
        parts = held_out_environment(table, config, rng)
    elif config.kind == "environment_transfer":
        parts = environment_transfer(table, config, rng)
    else:
        parts = _pair_disjoint(table, config, rng)
    _check_not_empty(table.num_strains, config, *parts)
    return parts


def make_split(table: PhenotypeTable, config: SplitConfig, write_cache: bool = True,
               sides: np.ndarray | None = None, fingerprint: str | None = None) -> Split:
    """Compute (or read from the content-keyed cache) the split of ``table``. In multi-process runs
    every rank computes the same split; only the main one writes the cache (``write_cache``).
    ``sides``: for ``kind = "files"``, which file each strain came from (0 main, 1 val, 2 test)."""
    if (config.kind == "files") != (sides is not None):
        raise ValueError('sides go with kind = "files" and only with it')
    if fingerprint is None and table.fingerprint_pending:
        # a table its reader is hashing on a thread (20 M strains: 0.6 s): the split is made meanwhile
        # and used as it is (a split is a function of the table and the settings: a cached one would be
        # the same); its key, and its cache entry, follow the hash
        key: Future = Future()
        split = Split(*map(_ascending, _parts(table, config, sides)), key)
        table_cache.in_background(f"split key {id(key)}",
                                  lambda: _finish(table, config, sides, split, key, write_cache))
        return split
    key = split_key(table, config, sides, fingerprint)
    cache = _cache_path(config, key, table.num_strains)
    if cache is not None:
        table_cache.written(cache)  # a split this process is still writing
        if cache.exists():
            with np.load(cache, allow_pickle=False) as z:
                return Split(*(z[part].astype(np.int64) for part in ("train", "val", "test")), key)
    split = Split(*map(_ascending, _parts(table, config, sides)), key)
    if cache is not None and write_cache:
        _write(cache, table, config, split)
    return split


def _finish(table: PhenotypeTable, config: SplitConfig, sides: np.ndarray | None, split: Split, pending: Future,
            write_cache: bool) -> None:
    """The key of a split made while its table was hashed, and its cache entry (on a thread)."""
    try:
        key = split_key(table, config, sides)
    except BaseException as exc:  # whoever asks for the key gets it
        pending.set_exception(exc)
        return
    pending.set_result(key)
    cache = _cache_path(config, key, table.num_strains)
    if cache is not None and write_cache:
        _write(cache, table, config, split)


def _write(cache: Path, table: PhenotypeTable, config: SplitConfig, split: Split) -> None:
    n = table.num_strains  # stored narrow (20 M strains as 80 MB of uint32, not 160 MB), narrowed by the writer
    parts = dict(train=split.train, val=split.val, test=split.test)
    table_cache.write_entry(cache, {"meta": np.array(json.dumps(attrs.asdict(config)))},
                            lambda: {k: table_cache.narrow(v, n) for k, v in parts.items()},
                            background=n * 4 >= table_cache.BACKGROUND_BYTES)


def _ascending(part: np.ndarray) -> np.ndarray:
    """``part`` sorted: as it is when it already is (a mask's rows; sorting 16 M of them took 0.2 s)."""
    return part if len(part) < 2 or bool((part[1:] >= part[:-1]).all()) else np.sort(part)


def _check_not_empty(n: int, config: SplitConfig, train: np.ndarray, val: np.ndarray, test: np.ndarray) -> None:
    """An empty training set cannot train, an empty validation set selects epoch 1 on a loss of 0, an
    empty test set reports nothing: each is a config error, whatever the split kind."""

    where = f"{config.kind} split of {n:,} strain{'s' * (n != 1)}"
    if config.kind in PUBLISHED:
        empty = [name for name, part in (("training", train), ("validation", val), ("test", test)) if len(part) == 0]
        if empty:
            source = f"column {config.column!r}" if config.kind == "column" else "split.test / split.val files"
            raise ConfigError("split", [f"split.kind: the published {where} has no {' and no '.join(empty)} strains "
                                        f"({source}; validation is carved from training with val_fraction = "
                                        f"{config.val_fraction} when none is given)"])
    errors = []
    if len(train) == 0:
        errors.append(f"split.val_fraction, split.test_fraction: the {where} left no training strains "
                      f"(val_fraction = {config.val_fraction}, test_fraction = {config.test_fraction}); lower them")
    if len(val) == 0:
        errors.append(f"split.val_fraction: the {where} left no validation strains (val_fraction = "
                      f"{config.val_fraction}); raise it, or use more strains")
    if len(test) == 0:
        errors.append(f"split.test_fraction: the {where} left no test strains (test_fraction = "
                      f"{config.test_fraction}); raise it, or use more strains")
    if errors and config.kind != "random":
        errors[-1] += (f" ({config.kind} moves whole groups of strains: a gene in many strains, or strains densely "
                       "linked by shared gene pairs, can fill a part on its own; kind = \"random\" has no such groups)")
    if errors:
        raise ConfigError("split", errors)


SHARED_CACHE_MIN_STRAINS = 1_000_000  # below this, splitting is about as quick as reading a cached split


def _cache_path(config: SplitConfig, key: str, num_strains: int = 0) -> Path | None:
    """``split.cache_dir`` when set; else, for a table of at least a million strains, the table
    cache's folder (``$CELLREG_CACHE``, off with ``CELLREG_CACHE=off``)."""
    if config.cache_dir:
        return Path(config.cache_dir).expanduser() / f"split-{config.kind}-{key}.npz"
    root = table_cache.cache_dir()
    if root is None or num_strains < SHARED_CACHE_MIN_STRAINS:
        return None
    return root / "splits" / f"split-{config.kind}-{key}.npz"


def save_npz(path: Path, **arrays) -> None:
    """Atomically, so that concurrent writers of the same file can never leave a torn one."""
    atomic_write(path, table_cache.npz_writer(arrays))
