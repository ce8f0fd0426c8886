"""Replicate rows: the same perturbation set (genes and kinds, in any order) under the same condition
is one strain measured several times (Costanzo's alleles of one gene, repeated screens).

``aggregate = "mean"`` keeps the first row of each group with every label averaged over the rows
that measured it (NaN ignored; NaN where none did). Grouping is one sort over a key per
row; the means are ``np.bincount`` sums: no Python loop over rows.
"""

from __future__ import annotations

import functools
from typing import Callable, Mapping

import attrs
import numpy as np

from cellreg.toolkit.grouping import first_appearance as group_keys, nested_first_appearance


@attrs.frozen
class Groups:
    """``group[r]``: the group of row r; groups are numbered in order of their first row."""

    group: np.ndarray
    first: np.ndarray  # [G] the first row of each group
    # [G] per group, the group of its perturbation set alone (conditions aside), numbered in order of
    # first appearance: the split's groups of the merged strains; None where not computed
    sets: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.first)

    @functools.cached_property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.group, minlength=self.count)

    @functools.cached_property
    def firsts(self) -> np.ndarray:
        """[rows] bool: whether a row is its group's first. Groups are numbered in order of their
        first row, so the rows this mask keeps are the groups in order (a mask, not a gather)."""
        out = np.zeros(len(self.group), bool)
        out[self.first] = True
        return out


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


def exact_set_keys(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray | None:
    """One int64 per row naming its set (codes sorted within the row, its size as the first digit)
    and conditions (the last digits, :func:`condition_spans`); None when the digits do not fit in 63 bits."""
    rows = len(sizes)
    width = int(sizes.max()) if rows else 0
    base = int(genes.max()) * 8 + int(kinds.max()) + 2 if len(genes) else 2  # above every (gene, kind) code
    spans = [base] * width + condition_spans(conditions)
    if np.log2(width + 1) + sum(np.log2(x) for x in spans) >= 62:
        return None

    def code(at) -> np.ndarray:  # the (gene, kind) code of the entries at ``at`` (indices or a slice)
        out = genes[at].astype(np.int64)
        out *= 8
        out += kinds[at]
        return out

    if width == 2 and sizes.min() >= 1:  # singles and pairs (a pair screen): a set is its first and last entry
        if sizes.min() == 2:  # pairs only: the entries' two columns are strided views, no gather
            a, b, size_digit = code(slice(0, None, 2)), code(slice(1, None, 2)), 2 * base
        else:
            start = np.cumsum(sizes) - sizes
            a, b, size_digit = code(start), code(start + sizes - 1), sizes * base
        key = np.minimum(a, b)  # a single: (1, c, c)
        hi = np.maximum(a, b, out=b)
        del a
        key += size_digit
        key += 1
        key *= base
        key += hi
        key += 1
    else:
        key = _keys_by_size(code, sizes, np.cumsum(sizes) - sizes, base, width)
    for c, span in zip(conditions, spans[width:]):
        key *= span
        key += c
        key += 1
    return key


def _keys_by_size(code, sizes: np.ndarray, start: np.ndarray, base: int, width: int) -> np.ndarray:
    key = np.zeros(len(sizes), np.int64)
    for k in np.flatnonzero(np.bincount(sizes)):  # a loop over set sizes (a handful), not rows
        rows_k = np.flatnonzero(sizes == k)
        if k == 0:
            continue
        at = start[rows_k]
        value = np.full(len(rows_k), int(k), np.int64)
        for col in _sorted_columns([code(at + i) for i in range(k)]):
            value = value * base + (col + 1)
        value *= base ** (width - int(k))  # the same number of digits for every size
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
    """Rows with one set under the same conditions; with exact keys also the groups of sets alone
    (:attr:`Groups.sets`), from the same sort."""
    flat = exact_set_keys(genes, kinds, sizes, conditions)
    if flat is not None:  # one exact int64 per row: one sort of packed words (20 M keys: 11 s -> about 2 s)
        return Groups(*nested_first_appearance(flat, int(np.prod(condition_spans(conditions), dtype=np.int64))))
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


def mean_labels(labels: np.ndarray, groups: Groups) -> np.ndarray:
    """Per group and label, the mean over rows where it is not NaN (NaN if none), as a table's float32
    (summed in float64, rounded once). A group of one row is that row; sums run over the rows of
    larger groups only (a few of 20 M, usually)."""
    out = np.empty((groups.count, labels.shape[1]), np.float32)
    multi = groups.sizes > 1
    merged = np.flatnonzero(multi)
    rows = np.flatnonzero(multi[groups.group])
    group = (np.cumsum(multi) - 1)[groups.group[rows]]  # among the merged groups
    for j in range(labels.shape[1]):  # a loop over label columns, not rows
        out[:, j] = labels[groups.firsts, j]
        if not len(merged):
            continue
        x = labels[rows, j]
        seen = ~np.isnan(x)
        total = np.bincount(group, weights=np.where(seen, x, 0.0), minlength=len(merged))
        n = np.bincount(group, weights=seen, minlength=len(merged))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[merged, j] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out


def check_agree(groups: Groups, columns: Mapping[str, np.ndarray], line_of: Callable[[np.ndarray], np.ndarray],
                values: Mapping[str, list[str]], path) -> None:
    """Rows merged into one strain must hold the same value in every carried column."""
    if not columns:
        return
    order = np.argsort(groups.group, kind="stable")
    g = groups.group[order]
    same = g[1:] == g[:-1]
    for name, codes in columns.items():
        c = codes[order]
        bad = np.flatnonzero(same & (c[1:] != c[:-1]))
        if len(bad):
            a, b = order[bad[0]], order[bad[0] + 1]
            la, lb = line_of(np.array([a, b]))
            raise ValueError(f"{path}: lines {la} and {lb} are replicates (the same genes, kinds and conditions) "
                             f"but differ in kept column {name!r} ({values[name][codes[a]]!r} vs "
                             f"{values[name][codes[b]]!r}); aggregate = \"mean\" merges them into one strain, "
                             "so they must agree (or add the column to conditions)")
