"""Store rows (one value of one label each) into strains (one row of every label each).

A strain is a perturbation set (genes and kinds, in any order) under one environment; its rows may
come from several studies. ``mean`` averages every row of a strain and label; ``prefer`` averages
only the rows of the most preferred study that measured that strain and label; ``keep`` makes one
strain per study (replicates the split keeps together, as it does any repeated set). Grouping is the
core's one-key-per-row sort (:func:`cellreg.data.replicates.group_rows`); the means are bincounts.
"""

from __future__ import annotations

import attrs
import numpy as np

from cellreg.data.replicates import group_rows


@attrs.frozen(eq=False)
class Merged:
    first: np.ndarray  # [S] a row of each strain (its genes, kinds and environment)
    labels: np.ndarray  # [S, L] float64, NaN = not measured
    studies: np.ndarray  # [S, n_studies] bool: which studies' rows made each strain's values
    rows_used: int  # rows that made a value (all, except rows a preferred study outranked)


def merge_rows(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray, env: np.ndarray,
               study: np.ndarray, label: np.ndarray, value: np.ndarray, n_labels: int, n_studies: int,
               policy: str, rank: np.ndarray | None = None) -> Merged:
    """``rank[s]``: study s's place in the preference (0 = most trusted), for ``policy = "prefer"``."""
    conditions = [env.astype(np.int64)] + ([study.astype(np.int64)] if policy == "keep" else [])
    groups = group_rows(genes, kinds, sizes, conditions)
    g, count = groups.group, groups.count
    cell = g.astype(np.int64) * n_labels + label
    keep = np.ones(len(g), bool)
    if policy == "prefer":
        keep[:] = False
        filled = np.zeros(count * n_labels, bool)
        row_rank = rank[study]
        for r in np.unique(row_rank):  # a loop over studies (a handful), not rows
            take = (row_rank == r) & ~filled[cell]
            keep |= take
            filled[cell[take]] = True
    sums = np.bincount(cell[keep], weights=value[keep], minlength=count * n_labels)
    n = np.bincount(cell[keep], minlength=count * n_labels)
    with np.errstate(invalid="ignore", divide="ignore"):
        labels = np.where(n > 0, sums / np.maximum(n, 1), np.nan).reshape(count, n_labels)
    studies = np.zeros((count, n_studies), bool)
    for s in range(n_studies):
        studies[:, s] = np.bincount(g[keep & (study == s)], minlength=count) > 0
    return Merged(groups.first, labels, studies, int(keep.sum()))


def drop_repeated_genes(genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray, int]:
    """A gene named twice in one row (a query and an array allele of the same gene) is one perturbation:
    its later entries go (whatever their kind, as the row's first names it). Returns the CSR without
    them and the number of rows that had one. Sets of up to 4 genes compare columns of a padded
    matrix (no sort); larger sets sort their (row, gene) keys."""
    rows = len(sizes)
    if rows == 0 or len(genes) == 0:
        return genes, kinds, sizes, 0
    width = int(sizes.max())
    if width <= 4 and int(sizes.min()) == width:  # one size (pairs): the CSR is a [rows, width] matrix
        matrix = genes.reshape(rows, width)
        repeat = np.zeros((rows, width), bool)
        for j in range(1, width):
            for i in range(j):
                repeat[:, j] |= matrix[:, j] == matrix[:, i]
        if not repeat.any():
            return genes, kinds, sizes, 0
        repeat = repeat.reshape(-1)
        row = np.repeat(np.arange(rows), width)
        n = int(repeat.reshape(rows, width).any(axis=1).sum())
        return genes[~repeat], kinds[~repeat], np.bincount(row[~repeat], minlength=rows), n
    row = np.repeat(np.arange(rows), sizes)
    within = np.arange(len(genes)) - np.repeat(np.cumsum(sizes, dtype=np.int64) - sizes, sizes)
    repeat = np.zeros(len(genes), bool)
    if width <= 4:
        padded = np.full((rows, width), -1, np.int64)
        padded[row, within] = genes
        for j in range(1, width):
            dup = np.zeros(rows, bool)
            for i in range(j):
                dup |= (padded[:, j] == padded[:, i]) & (padded[:, j] >= 0)
            repeat |= dup[row] & (within == j)
    else:
        key = row.astype(np.int64) * (int(genes.max()) + 1) + genes
        order = np.lexsort((within, key))
        later = np.zeros(len(genes), bool)
        later[order[1:]] = key[order[1:]] == key[order[:-1]]
        repeat = later
    if not repeat.any():
        return genes, kinds, sizes, 0
    n = len(np.unique(row[repeat]))
    return genes[~repeat], kinds[~repeat], np.bincount(row[~repeat], minlength=rows), n
