"""Labels that reach a model through its input graph.

A genetic-interaction network (BioGRID's genetic edges) is built from the same screens as the
labels: an edge between the two genes of a test pair says the pair interacts, so the test label is
an input. Two tools:

* :func:`leak_report`: per relation, the fraction of held-out strains (two or more genes) whose genes
  the relation joins (an edge between some two of them), next to the same fraction for random
  gene sets of the same sizes (the base rate); :attr:`Leak.far_above` flags a relation that joins
  held-out sets much more often than chance.
* :func:`drop_held_out_edges`: the graph without every edge joining two genes of one held-out strain
  (a pair's own edge; for a triple, the edges among its genes), recomputed with each split.

Pairs are built per position in the sets (a loop over at most a few positions, not over strains)
and looked up in each relation's sorted edge keys.
"""

from __future__ import annotations

from typing import Mapping

import attrs
import numpy as np
import torch

from cellreg.data.graph import CellGraph, Relation
from cellreg.data.phenotypes import PhenotypeTable

FAR_ABOVE_RATIO, FAR_ABOVE_MIN = 10.0, 0.02  # warn from 10x the base rate and 2 % of the held-out strains
FAR_ABOVE_COUNT = 10  # ... and 10 joined strains: one pair of 3 held out is no evidence of a leak
SAMPLE = 200_000  # held-out strains the report reads at most (a fraction within ~0.2 %), not all 4 M of 20 M


@attrs.frozen
class Leak:
    relation: str
    strains: int  # held-out strains with two or more genes
    joined: float  # fraction of them some edge of the relation joins
    base: float  # the same fraction for random gene sets of the same sizes

    @property
    def far_above(self) -> bool:
        return (self.joined >= FAR_ABOVE_MIN and self.joined * self.strains >= FAR_ABOVE_COUNT
                and self.joined >= FAR_ABOVE_RATIO * max(self.base, 1e-12))

    def line(self) -> str:
        ratio = f"{self.joined / self.base:,.1f}x" if self.base > 0 else ("-" if self.joined == 0 else "inf x")
        return (f"{self.relation}: joins {self.joined:.1%} of {self.strains:,} held-out strains; random gene sets "
                f"{self.base:.1%} ({ratio}){'  <- far above chance: a label may be an input' if self.far_above else ''}")


def set_pairs(offsets: np.ndarray, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every unordered pair of positions inside each CSR set: ``(owner set, gene a, gene b)``."""
    sizes = np.diff(offsets)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    pos = np.arange(len(genes)) - offsets[owner]
    k = int(sizes.max(initial=0))
    a_idx, b_idx = [], []
    for i in range(k):  # positions in a set: a handful
        for j in range(i + 1, k):
            at = np.flatnonzero((pos == i) & (sizes[owner] > j))
            a_idx.append(at)
            b_idx.append(at + (j - i))
    a = np.concatenate(a_idx) if a_idx else np.zeros(0, np.int64)
    b = np.concatenate(b_idx) if b_idx else np.zeros(0, np.int64)
    return owner[a], genes[a].astype(np.int64), genes[b].astype(np.int64)


def _keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    return np.minimum(a, b) * n + np.maximum(a, b)


def edge_keys(rel: Relation, n: int) -> np.ndarray:
    """Sorted unordered pair keys of a relation's edges (a directed edge joins its two genes too)."""
    ei = rel.edge_index.numpy().astype(np.int64)
    return np.unique(_keys(ei[0], ei[1], n))


def _joined(keys: np.ndarray, owner: np.ndarray, edges: np.ndarray, n_sets: int) -> np.ndarray:
    """[n_sets] bool: some pair of the set is an edge."""
    if len(edges) == 0 or len(keys) == 0:
        return np.zeros(n_sets, bool)
    at = np.minimum(np.searchsorted(edges, keys), len(edges) - 1)
    hit = edges[at] == keys
    out = np.zeros(n_sets, bool)
    out[owner[hit]] = True
    return out


def leak_report(graph: CellGraph, table: PhenotypeTable, held_out: np.ndarray, seed: int = 0,
                sample: int = SAMPLE) -> list[Leak]:
    """One :class:`Leak` per gene-gene relation over the strains ``held_out`` (validation and test
    rows), or a random ``sample`` of them when there are more."""
    held_out = np.asarray(held_out)
    rng = np.random.default_rng(seed)
    if len(held_out) > sample:
        held_out = rng.choice(held_out, sample, replace=False)
    sub = table.select(held_out)
    sizes = sub.set_sizes
    multi = sizes >= 2
    n = len(graph.genes)
    owner, a, b = set_pairs(sub.offsets, sub.genes)
    keys = _keys(a, b, n)
    # random gene sets of the same sizes, genes drawn from those the table perturbs
    pool = np.flatnonzero(table.used_genes())
    r_owner, ra, rb = set_pairs(sub.offsets, pool[rng.integers(0, max(len(pool), 1), len(sub.genes))]
                                if len(pool) else sub.genes)
    r_keys = _keys(ra, rb, n)
    count = int(multi.sum())
    out = []
    for name, rel in graph.relations.items():
        edges = edge_keys(rel, n)
        joined = _joined(keys, owner, edges, len(sizes))[multi].mean() if count else 0.0
        base = _joined(r_keys, r_owner, edges, len(sizes))[multi].mean() if count else 0.0
        out.append(Leak(name, count, float(joined), float(base)))
    return out


def held_out_pair_keys(table: PhenotypeTable, held_out: np.ndarray) -> np.ndarray:
    """Sorted unique keys of every gene pair inside a held-out strain (over the table's vocabulary)."""
    sub = table.select(np.asarray(held_out))
    _, a, b = set_pairs(sub.offsets, sub.genes)
    return np.unique(_keys(a, b, len(table.gene_names)))


def held_out_edges(graph: CellGraph, pair_keys: np.ndarray) -> dict[str, np.ndarray]:
    """Per relation, the positions of its edges that join the two genes of a held-out pair."""
    n, out = len(graph.genes), {}
    for name, rel in graph.relations.items():
        ei = rel.edge_index.numpy().astype(np.int64)
        keys = _keys(ei[0], ei[1], n)
        if len(pair_keys) == 0 or len(keys) == 0:
            out[name] = np.zeros(0, np.int64)
            continue
        at = np.minimum(np.searchsorted(pair_keys, keys), len(pair_keys) - 1)
        out[name] = np.flatnonzero(pair_keys[at] == keys)
    return out


def drop_edges(graph: CellGraph, dropped: Mapping[str, np.ndarray]) -> CellGraph:
    """The graph without the given edge positions per relation (others untouched); the same object
    when there are none."""
    if not any(len(p) for p in dropped.values()):
        return graph
    relations = dict(graph.relations)
    for name, positions in dropped.items():
        if name not in relations:
            raise ValueError(f"held-out edges name relation {name!r}, which the graph lacks")
        if len(positions) == 0:
            continue
        rel = relations[name]
        keep = torch.ones(rel.num_edges, dtype=torch.bool)
        keep[torch.from_numpy(np.asarray(positions, np.int64))] = False
        relations[name] = Relation(name, rel.edge_index[:, keep].contiguous(),
                                   None if rel.weight is None else rel.weight[keep], rel.directed)
    return attrs.evolve(graph, relations=relations)
