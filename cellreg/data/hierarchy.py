"""A hierarchy of terms over the genes (the Gene Ontology, a planted one), as ``CellGraph.extra`` stores it.

The layout, defined here once, so that any graph source can write it, ``compose`` carries it
through as ordinary node and edge types, and any model can read it:

* node type ``term``: ``num_nodes`` T, ``names`` (T term ids, e.g. ``GO:0008150``), ``level``
  [T] long, the term's height: 0 for a term without children, else one more than its highest
  child, so a level depends only on levels below it; optionally ``titles`` (T readable names);
* ``("term", "parent_of", "term")``: ``edge_index`` [2, E], rows (parent, child), a DAG;
* ``("gene", "annotated_to", "term")``: ``edge_index`` [2, A], rows (gene, term): the direct
  annotations only. A term's genes are its own and all its descendants' (:meth:`Hierarchy.term_genes`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import attrs
import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:
    from torch_geometric.data import HeteroData

TERM = "term"
PARENT_OF = (TERM, "parent_of", TERM)
ANNOTATED_TO = ("gene", "annotated_to", TERM)


def _pairs(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    if a.size == 0:
        return np.zeros((2, 0), np.int64)
    if a.ndim != 2 or a.shape[0] != 2:
        raise ValueError(f"hierarchy {name}: expected a [2, n] array, got shape {a.shape}")
    return np.unique(a, axis=1)  # sorted, no duplicates: one canonical layout


def heights(num_terms: int, parent_child: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
    """Each term's level (0 = no children); ValueError naming a term on a cycle."""
    level = np.zeros(num_terms, np.int64)
    parent, child = parent_child
    for _ in range(num_terms + 1):  # the longest path settles within depth rounds
        new = level.copy()
        np.maximum.at(new, parent, level[child] + 1)
        if np.array_equal(new, level):
            return level
        level = new
    worst = int(np.argmax(level))  # still growing after T rounds: it lies on a cycle
    raise ValueError(f"hierarchy is not acyclic: term {names[worst] if names else worst} is on a cycle")


@attrs.frozen(eq=False)
class Hierarchy:
    """Terms, their parent→child edges and the genes annotated directly to each (indices into the
    CellGraph's genes). Immutable; edges are kept sorted and unique."""

    terms: tuple[str, ...]
    parent_child: np.ndarray = attrs.field(converter=lambda a: _pairs(a, "parent_child"))  # [2, E]
    annotations: np.ndarray = attrs.field(converter=lambda a: _pairs(a, "annotations"))  # [2, A] (gene, term)
    num_genes: int
    titles: tuple[str, ...] | None = None  # human-readable term names (the OBO ``name``), where known
    levels: np.ndarray = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        t = len(self.terms)
        if len(set(self.terms)) != t:
            raise ValueError("hierarchy has duplicate term ids")
        if self.titles is not None and len(self.titles) != t:
            raise ValueError(f"hierarchy has {len(self.titles)} titles for {t} terms")
        pc, an = self.parent_child, self.annotations
        if pc.size and (pc.min() < 0 or pc.max() >= t):
            raise ValueError(f"hierarchy parent_child refers to terms outside 0..{t - 1}")
        if np.any(pc[0] == pc[1]):
            raise ValueError(f"hierarchy term {self.terms[int(pc[0][pc[0] == pc[1]][0])]} is its own child")
        if an.size and (an[1].min() < 0 or an[1].max() >= t or an[0].min() < 0 or an[0].max() >= self.num_genes):
            raise ValueError(f"hierarchy annotations refer to genes outside 0..{self.num_genes - 1} "
                             f"or terms outside 0..{t - 1}")
        object.__setattr__(self, "levels", heights(t, pc, self.terms))

    @property
    def num_terms(self) -> int:
        return len(self.terms)

    @property
    def depth(self) -> int:
        """Number of levels."""
        return int(self.levels.max()) + 1 if self.num_terms else 0

    @property
    def roots(self) -> np.ndarray:
        """Terms without a parent."""
        has_parent = np.zeros(self.num_terms, bool)
        has_parent[self.parent_child[1]] = True
        return np.flatnonzero(~has_parent)

    def children(self) -> sp.csr_matrix:
        """[T, T] 0/1: row p has the children of p."""
        t = self.num_terms
        return sp.csr_matrix((np.ones(self.parent_child.shape[1], np.int8), tuple(self.parent_child)), shape=(t, t))

    def direct(self) -> sp.csr_matrix:
        """[T, N] 0/1: row t has the genes annotated directly to t."""
        a = self.annotations
        return sp.csr_matrix((np.ones(a.shape[1], np.int8), (a[1], a[0])), shape=(self.num_terms, self.num_genes))

    def term_genes(self) -> sp.csr_matrix:
        """[T, N] 0/1: row t has t's genes, its own and all its descendants' (annotations
        propagated up the DAG): ``G = D + C G`` iterated once per level."""
        children, direct = self.children().astype(np.int32), self.direct().astype(np.int32)
        genes = direct
        for _ in range(self.depth - 1):
            genes = ((direct + children @ genes) > 0).astype(np.int32)
        return genes.astype(np.int8).tocsr()

    def to_extra(self, extra: "HeteroData | None" = None) -> "HeteroData":
        """Write the layout into ``extra`` (a new HeteroData if None) and return it."""
        import torch
        from torch_geometric.data import HeteroData

        extra = HeteroData() if extra is None else extra
        extra[TERM].num_nodes = self.num_terms
        extra[TERM].names = list(self.terms)
        extra[TERM].level = torch.from_numpy(self.levels.copy())
        if self.titles is not None:
            extra[TERM].titles = list(self.titles)
        extra[PARENT_OF].edge_index = torch.from_numpy(self.parent_child.copy())
        extra[ANNOTATED_TO].edge_index = torch.from_numpy(self.annotations.copy())
        return extra

    @classmethod
    def from_extra(cls, extra: "HeteroData | None", num_genes: int) -> "Hierarchy | None":
        """The hierarchy a CellGraph's ``extra`` holds, or None when it has no ``term`` nodes."""
        if extra is None or TERM not in extra.node_types:
            return None
        store = extra[TERM]
        names = tuple(store.names) if "names" in store else tuple(f"term{i}" for i in range(store.num_nodes))
        pc = extra[PARENT_OF].edge_index.numpy() if PARENT_OF in extra.edge_types else np.zeros((2, 0), np.int64)
        an = extra[ANNOTATED_TO].edge_index.numpy() if ANNOTATED_TO in extra.edge_types else np.zeros((2, 0), np.int64)
        titles = tuple(store.titles) if "titles" in store else None
        hierarchy = cls(names, pc, an, num_genes, titles=titles)
        if "level" in store and not np.array_equal(store.level.numpy(), hierarchy.levels):
            raise ValueError("CellGraph.extra['term'].level disagrees with the heights of its parent_of edges")
        return hierarchy

    def summary(self, genes: Sequence[str] | None = None) -> str:
        """One screen: terms, levels, edges, genes annotated and genes of the vocabulary with no term."""
        covered = np.zeros(self.num_genes, bool)
        covered[self.annotations[0]] = True
        sizes = np.asarray(self.term_genes().sum(1)).ravel()
        per_level = np.bincount(self.levels, minlength=self.depth)
        lines = [f"Hierarchy: {self.num_terms:,} terms, depth {self.depth}, {self.parent_child.shape[1]:,} "
                 f"parent-child edges, {self.annotations.shape[1]:,} direct annotations",
                 f"  genes annotated: {int(covered.sum()):,} of {self.num_genes:,}; with no term: "
                 f"{int((~covered).sum()):,}",
                 f"  roots: {', '.join(self.terms[r] for r in self.roots[:5])}"
                 + (f" (+{len(self.roots) - 5})" if len(self.roots) > 5 else ""),
                 "  terms per level (0 = no children): " + " ".join(str(int(c)) for c in per_level)]
        if self.num_terms:
            lines.append(f"  genes per term: min {int(sizes.min())}, median {int(np.median(sizes))}, "
                         f"max {int(sizes.max())}")
        if genes is not None and (~covered).any():
            missing = [genes[i] for i in np.flatnonzero(~covered)[:5]]
            lines.append(f"  e.g. with no term: {', '.join(missing)}")
        return "\n".join(lines)
