"""Incidence caches: for each node, the positions of the edges touching it, in CSR form.

Built once per relation in O(|E|) (SciPy's COO→CSR conversion is a counting sort); a batch then
reads only the rows of its deleted nodes, so a strain costs O(Σ deg) whatever the size of the graph.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from cellreg import Perturbation, PhenotypeTable


def runs(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The positions ``start[i], ..., start[i] + count[i] - 1`` of every run, concatenated."""
    first = np.cumsum(count) - count  # where each run starts in the output
    return np.arange(int(count.sum()), dtype=np.int64) + np.repeat(start - first, count)


def gather_ranges(ptr: np.ndarray, values: np.ndarray, nodes: np.ndarray,
                  strains: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values[ptr[v]:ptr[v+1]]`` for every (strain, node) pair, tagged with its strain. O(output)."""
    start = ptr[nodes]
    count = ptr[nodes + 1] - start
    return np.repeat(strains, count), values[runs(start, count)]


def unique_pairs(strain: np.ndarray, index: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (strain, index) pairs with ``0 <= index < size``, sorted by strain, then index."""
    key = np.unique(strain.astype(np.int64) * max(size, 1) + index)
    return key // max(size, 1), key % max(size, 1)


class Incidence:
    """Node → positions of the edges with an end at that node (``ends``: one [E] array per end)."""

    def __init__(self, ends: list[np.ndarray], num_nodes: int, num_edges: int) -> None:
        rows = np.concatenate(ends).astype(np.int64) if ends else np.zeros(0, np.int64)
        csr = sp.csr_matrix((np.ones(len(rows), np.int8), (rows, np.arange(len(rows)))),
                            shape=(num_nodes, len(rows)))
        self.ptr = csr.indptr.astype(np.int64)
        self.positions = csr.indices.astype(np.int64) % max(num_edges, 1)

    def touching(self, strains: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(strain, edge position) for every edge touching a node, duplicates included: Σ deg entries."""
        return gather_ranges(self.ptr, self.positions, nodes, strains)


def deletions(table: PhenotypeTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(strain within the batch, gene) for each deleted gene of the rows; other kinds stay in the graph."""
    starts = table.offsets[rows]
    sizes = table.offsets[rows + 1] - starts
    pos = runs(starts, sizes)
    strain = np.repeat(np.arange(len(rows)), sizes)
    keep = table.kinds[pos] == Perturbation.DELETION
    if not keep.all():  # shown once per process by Python's default warning filter
        warnings.warn("strains with knockdowns, overexpressions or additions: graph ops remove only deleted "
                      "genes, so a per-strain graph encoder (F(G) − F(G∖S)) sees no change for the other kinds; "
                      "a strain without deletions gets the wild type's prediction", stacklevel=2)
    return unique_pairs(strain[keep], table.genes[pos[keep]].astype(np.int64), len(table.gene_names))
