"""Replicate rows: the same perturbation set (genes and kinds, in any order) under the same condition
is one strain measured several times (Costanzo's alleles of one gene, repeated screens).

``aggregate = "mean"`` keeps the first row of each group with every label averaged over the rows
that measured it (NaN ignored; NaN where none did). Grouping is one ``np.unique`` over a key per
row; the means are ``np.bincount`` sums: no Python loop over rows.
"""

from __future__ import annotations

from typing import Callable, Mapping

import attrs
import numpy as np


@attrs.frozen
class Groups:
    """``group[r]``: the group of row r; groups are numbered in order of their first row."""

    group: np.ndarray
    first: np.ndarray  # [G] the first row of each group

    @property
    def count(self) -> int:
        return len(self.first)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.group, minlength=self.count)


def _set_key(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, n_genes: int) -> np.ndarray:
    """[R, max size] each row's (gene, kind) codes sorted, padded with -1 (in front, after the sort)."""
    rows = len(sizes)
    strain = np.repeat(np.arange(rows), sizes)
    start = np.cumsum(sizes) - sizes
    width = int(sizes.max()) if rows else 0
    out = np.full((rows, max(width, 1)), -1, np.int64)
    out[strain, np.arange(len(strain)) - start[strain]] = genes.astype(np.int64) * 8 + kinds
    out.sort(axis=1)  # a sort of a few columns per row, not a sort of all entries
    return out


def group_rows(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, n_genes: int,
               conditions: list[np.ndarray]) -> Groups:
    key = np.concatenate([_set_key(genes, kinds, sizes, n_genes)] +
                         [c.astype(np.int64).reshape(-1, 1) for c in conditions], axis=1)
    span = key.max(axis=0) + 2 if len(key) else np.ones(key.shape[1], np.int64)  # codes + 1 >= 0
    if np.sum(np.log2(span.astype(np.float64))) < 62:  # one int64 per row: a 1-d unique, much faster
        flat = np.zeros(len(key), np.int64)
        for j in range(key.shape[1]):
            flat = flat * span[j] + (key[:, j] + 1)
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return Groups(rank[inverse], first[order])


def mean_labels(labels: np.ndarray, groups: Groups) -> np.ndarray:
    """Per group and label, the mean over rows where it is not NaN (NaN if none)."""
    out = np.empty((groups.count, labels.shape[1]), np.float64)
    for j in range(labels.shape[1]):  # a loop over label columns, not rows
        x = labels[:, j]
        seen = ~np.isnan(x)
        total = np.bincount(groups.group, weights=np.where(seen, x, 0.0), minlength=groups.count)
        n = np.bincount(groups.group, weights=seen, minlength=groups.count)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
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
