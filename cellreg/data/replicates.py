"""Replicate rows: the same perturbation set (genes and kinds, in any order) under the same condition
is one strain measured several times (Costanzo's alleles of one gene, repeated screens).

``aggregate = "mean"`` keeps the first row of each group with every label averaged over the rows
that measured it (NaN ignored; NaN where none did). Grouping is one sort over a key per
row (:class:`Replicates`: the runs of equal keys, summed where a run has more than one row); no Python
loop over rows.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import attrs
import numpy as np

from cellreg.toolkit.grouping import first_appearance as group_keys, sort
from cellreg.toolkit.parallel_index import compress, each_block, put, take


@attrs.frozen
class Groups:
    """``group[r]``: the group of row r; groups are numbered in order of their first row."""

    group: np.ndarray
    first: np.ndarray  # [G] the first row of each group

    @property
    def count(self) -> int:
        return len(self.first)


def _sorted_columns(columns: list[np.ndarray]) -> list[np.ndarray]:
    """The k code columns of m rows sorted within each row: min/max networks for the common pairs and
    triples, one row-wise sort beyond."""
    k = len(columns)
    if k == 1:
        return columns
    if k == 2:
        a, b = columns
        return [np.minimum(a, b), np.maximum(a, b)]
    if k == 3:
        a, b, c = columns
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return [np.minimum(lo, c), np.maximum(lo, np.minimum(hi, c)), np.maximum(hi, c)]
    return list(np.sort(np.stack(columns, axis=1), axis=1).T)


def condition_spans(conditions: list[np.ndarray]) -> list[int]:
    """Per condition column, the digit range its codes take in a key (0 for none, then code + 1)."""
    return [int(c.max()) + 2 if len(c) else 2 for c in conditions]


BLOCK = 1 << 18
"""Rows per block of :func:`exact_set_keys`: its dozen passes stay in the cache, a block per core."""


def exact_set_keys(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, conditions: list[np.ndarray],
                   num_genes: int | None = None) -> np.ndarray | None:
    """One int64 per row naming its set (its size, then its codes sorted, as digits: sets of each size
    fill a range of their own) and conditions (the last digits, :func:`condition_spans`); None when
    the digits do not fit in 63 bits. ``num_genes``: the vocabulary's size, so that a set's key does
    not depend on the other rows. Computed in blocks of rows across the cores (20 M pairs under a
    condition: 0.26–0.33 s on 2 cores against 0.49–0.79 s in whole-array passes, two runs of
    ``benchmarks/parallel_index_bench.py``)."""
    rows = len(sizes)
    width = int(sizes.max()) if rows else 0
    if num_genes is not None:
        base = num_genes * 8 + 1  # above every (gene, kind) code: kinds are below 8
    else:
        base = int(genes.max()) * 8 + int(kinds.max()) + 2 if len(genes) else 2  # above every (gene, kind) code
    spans = condition_spans(conditions)
    if np.log2(width + 1) + width * np.log2(base) + sum(np.log2(x) for x in spans) >= 62:
        return None
    key = np.empty(rows, np.int64)
    # where each block's entries start: a sum per block, not a cumsum over every row (160 MB at 20 M)
    at = np.zeros(-(-rows // BLOCK) + 1, np.int64)
    if rows:
        np.cumsum(np.add.reduceat(sizes, np.arange(0, rows, BLOCK)), out=at[1:])

    def block(a: int) -> None:
        b = min(a + BLOCK, rows)
        e0, e1 = int(at[a // BLOCK]), int(at[a // BLOCK + 1])
        key[a:b] = _block_keys(genes[e0:e1], kinds[e0:e1], sizes[a:b], [c[a:b] for c in conditions], base, spans)

    each_block(block, rows, BLOCK)
    return key


def _block_keys(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, conditions: list[np.ndarray], base: int,
                spans: list[int]) -> np.ndarray:
    """:func:`exact_set_keys` of consecutive rows (``genes`` and ``kinds``: their entries)."""

    def code(at) -> np.ndarray:  # the (gene, kind) code of the entries at ``at`` (indices or a slice)
        out = genes[at].astype(np.int64)
        out *= 8
        out += kinds[at]
        return out

    if int(sizes.max()) == 2 and sizes.min() >= 1:  # singles and pairs: a set is its first and last entry
        if sizes.min() == 2:  # pairs only: the entries' two columns are strided views, no gather
            a, b, size_digit = code(slice(0, None, 2)), code(slice(1, None, 2)), 2 * base
        else:
            start = np.cumsum(sizes) - sizes
            a, b, size_digit = code(start), code(start + sizes - 1), sizes * base
        key = np.minimum(a, b)  # a single: (1, c, c), cut to (1, c) below
        hi = np.maximum(a, b, out=b)
        del a
        key += size_digit
        key += 1
        key *= base
        key += hi
        key += 1
        if sizes.min() == 1:
            np.floor_divide(key, base, out=key, where=sizes == 1)
    else:
        key = _keys_by_size(code, sizes, np.cumsum(sizes) - sizes, base)
    for c, span in zip(conditions, spans):
        key *= span
        key += c
        key += 1
    return key


def _keys_by_size(code, sizes: np.ndarray, start: np.ndarray, base: int) -> np.ndarray:
    key = np.zeros(len(sizes), np.int64)
    for k in np.flatnonzero(np.bincount(sizes)):  # a loop over set sizes (a handful), not rows
        rows_k = np.flatnonzero(sizes == k)
        if k == 0:
            continue
        at = start[rows_k]
        value = np.full(len(rows_k), int(k), np.int64)
        for col in _sorted_columns([code(at + i) for i in range(k)]):
            value = value * base + (col + 1)
        key[rows_k] = value
    return key


def _set_key(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """[R, max size] each row's (gene, kind) codes sorted, padded with -1 (in front, after the sort)."""
    rows = len(sizes)
    strain = np.repeat(np.arange(rows), sizes)
    start = np.cumsum(sizes) - sizes
    width = int(sizes.max()) if rows else 0
    out = np.full((rows, max(width, 1)), -1, np.int64)
    out[strain, np.arange(len(strain)) - start[strain]] = genes.astype(np.int64) * 8 + kinds
    out.sort(axis=1)  # a sort of a few columns per row, not a sort of all entries
    return out


def group_rows(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, conditions: list[np.ndarray]) -> Groups:
    """Rows with one set under the same conditions."""
    flat = exact_set_keys(genes, kinds, sizes, conditions)
    if flat is not None:  # one exact int64 per row: one sort of packed words (20 M keys: 11 s -> about 2 s)
        return first_appearance(flat)
    key = np.concatenate([_set_key(genes, kinds, sizes)] + [c.astype(np.int64).reshape(-1, 1) for c in conditions],
                         axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    is_first = np.zeros(len(inverse), bool)
    is_first[first] = True
    rank = (np.cumsum(is_first) - 1)[first]  # each group's number in order of its first row: no second sort
    ordered = np.empty_like(first)
    ordered[rank] = first
    return Groups(rank[inverse], ordered)


def first_appearance(keys: np.ndarray) -> Groups:
    """Groups of equal keys numbered in order of their first row (:mod:`cellreg.toolkit.grouping`)."""
    return Groups(*group_keys(keys))


GROUP_BLOCK = 1 << 15
"""Merged groups per step of :meth:`Replicates.means`."""


@attrs.frozen
class Replicates:
    """Rows cut into groups of one key by one sort, with only the groups of more than one row spelled
    out: at 20 M rows most groups are one row, which stays as it is (no number per row, no scatter)."""

    keep: np.ndarray  # [rows] bool: each group's first row; the kept rows, in order, are the groups in order
    rows: np.ndarray  # [m] the rows of the groups of more than one row, group after group, each ascending
    starts: np.ndarray  # [k] where each of those groups starts in ``rows``
    number: np.ndarray  # [k] each of those groups' place among the kept rows
    count: int  # groups

    @classmethod
    def of_keys(cls, keys: np.ndarray) -> "Replicates":
        """From one sort's tie marks alone: only the rows of repeated keys are gathered or scattered
        (20 M rows, 2.5 M repeats: 0.87 s before, 0.54 s now; medians of 5)."""
        s = sort(keys)
        later = np.flatnonzero(s.tie)  # places in key order of every group's rows after its first
        keep = np.ones(len(s.order), bool)
        put(keep, take(s.order, later), False)
        merged = s.tie.copy()
        merged[:-1] |= s.tie[1:]  # the places of groups of more than one row
        where = np.flatnonzero(merged)
        rows = take(s.order, where)
        starts = np.flatnonzero(~s.tie[where])
        kept_before = np.cumsum(keep, dtype=np.int32 if len(keep) < 2**31 else np.int64)
        number = take(kept_before, rows[starts]).astype(np.int64) - 1  # places of the merged groups only
        return cls(keep, rows, starts, number, len(keep) - len(later))

    @classmethod
    def of_groups(cls, groups: Groups) -> "Replicates":
        """From rows already numbered (:func:`group_rows`' fallback for keys beyond 63 bits)."""
        order = np.argsort(groups.group, kind="stable")
        numbers, keep = groups.group[order], np.zeros(len(order), bool)
        if not len(order):
            return cls(keep, order, order, order, 0)
        new = np.concatenate([[True], numbers[1:] != numbers[:-1]])
        starts = np.flatnonzero(new)
        lengths = np.diff(starts, append=len(order))
        keep[order[starts]] = True
        multi = lengths > 1
        in_multi = np.repeat(multi, lengths)
        sizes = lengths[multi]
        return cls(keep, order[in_multi], np.cumsum(sizes) - sizes, numbers[starts][multi], groups.count)

    @property
    def merged_groups(self) -> int:
        return len(self.starts)

    def means(self, labels: np.ndarray) -> np.ndarray:
        """Per group and label, the mean over rows where it is not NaN (NaN if none), as a table's
        float32 (summed in float64 in row order, rounded once). A group of one row is that row. Kept
        rows are copied and merged groups averaged a block at a time across the cores: the blocks'
        temporaries are reused, not a float64 copy of every merged row (570 MB fresh at 20 M rows)."""
        out = np.empty((self.count, labels.shape[1]), np.float32)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN stays NaN: as astype, without a warning
            compress(self.keep, labels, out)  # whole rows, cast on the way: no float64 copy
        groups = len(self.starts)
        each_block(lambda a: self._average(labels, out, slice(a, min(a + GROUP_BLOCK, groups))), groups, GROUP_BLOCK)
        return out

    def _average(self, labels: np.ndarray, out: np.ndarray, groups: slice) -> None:
        """:meth:`means` of some merged groups, written into ``out``."""
        a, b = groups.start, groups.stop
        if a == b:
            return
        lo, hi = self.starts[a], self.starts[b] if b < len(self.starts) else len(self.rows)
        x = np.take(labels, self.rows[lo:hi], axis=0).astype(np.float64, copy=False)
        starts = self.starts[a:b] - lo
        missing = np.isnan(x)
        if not missing.any():  # every row measured every label: a group's count is its size
            total = np.add.reduceat(x, starts, axis=0)
            total /= np.diff(starts, append=len(x))[:, None]
            out[self.number[a:b]] = total
            return
        np.copyto(x, 0.0, where=missing)
        total = np.add.reduceat(x, starts, axis=0)
        n = np.add.reduceat(~missing, starts, axis=0, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[self.number[a:b]] = np.where(n > 0, total / np.maximum(n, 1), np.nan)

    def disagreement(self, codes: np.ndarray) -> tuple[int, int] | None:
        """The first two rows of one group (groups in order of their first row) that hold different
        ``codes``, or None."""
        c = codes[self.rows]
        bad = np.flatnonzero(c[1:] != c[:-1]) + 1
        inside = np.ones(len(c), bool)
        inside[self.starts] = False  # a group's first row has no predecessor in its group
        bad = bad[inside[bad]]
        if not len(bad):
            return None
        group = np.searchsorted(self.starts, bad, side="right") - 1
        at = bad[np.argmin(self.number[group])]  # in the earliest group, its first disagreement
        return int(self.rows[at - 1]), int(self.rows[at])


def replicates(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, conditions: list[np.ndarray],
               num_genes: int) -> tuple[Replicates, np.ndarray | None]:
    """:func:`group_rows`' groups, from the sort alone where the keys are exact; and the kept rows' set
    keys over a vocabulary of ``num_genes`` (:func:`exact_set_keys` without the conditions: a random
    split's keys, so that it does not compute them again), None where they do not fit."""
    flat = exact_set_keys(genes, kinds, sizes, conditions, num_genes)
    if flat is not None:
        groups = Replicates.of_keys(flat)
        kept = compress(groups.keep, flat)
        kept //= math.prod(condition_spans(conditions))  # the condition digits dropped
        return groups, kept
    flat = exact_set_keys(genes, kinds, sizes, conditions)  # the table's own genes may leave room where the
    # vocabulary's do not
    groups = Replicates.of_keys(flat) if flat is not None else Replicates.of_groups(group_rows(genes, kinds, sizes,
                                                                                              conditions))
    return groups, None


def check_agree(groups: Replicates, columns: Mapping[str, np.ndarray], line_of: Callable[[np.ndarray], np.ndarray],
                values: Mapping[str, list[str]], path) -> None:
    """Rows merged into one strain must hold the same value in every carried column."""
    for name, codes in columns.items():
        pair = groups.disagreement(codes)
        if pair is not None:
            a, b = pair
            la, lb = line_of(np.array([a, b]))
            raise ValueError(f"{path}: lines {la} and {lb} are replicates (the same genes, kinds and conditions) "
                             f"but differ in kept column {name!r} ({values[name][codes[a]]!r} vs "
                             f"{values[name][codes[b]]!r}); aggregate = \"mean\" merges them into one strain, "
                             "so they must agree (or add the column to conditions)")
