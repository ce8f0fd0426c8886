"""CellGraph: the wild-type cell as a gene vocabulary plus named relations, built once per run.

Gene-gene relations live in a PyG ``HeteroData`` under edge types ``("gene", name, "gene")``.
Other node types (reactions, metabolites) and bipartite or hyperedge relations go in the same
object under their own types, so metabolism and later modalities need no new container.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import attrs
import numpy as np
import torch

if TYPE_CHECKING:  # PyG is imported where a view is made: reading tables and graphs needs no PyG (1.9 s)
    from torch_geometric.data import HeteroData

GENE = "gene"


@attrs.frozen
class Relation:
    """One gene-gene network. Undirected relations store each unordered pair once, ``src < dst``."""

    name: str
    edge_index: torch.Tensor  # [2, E] long
    weight: torch.Tensor | None  # [E] float, or None
    directed: bool

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    def message_index(self) -> torch.Tensor:
        """Edges in both directions for undirected relations (what message passing wants)."""
        if self.directed:
            return self.edge_index
        return torch.cat([self.edge_index, self.edge_index.flip(0)], dim=1)


def canonical_edges(
    src: np.ndarray, dst: np.ndarray, weight: np.ndarray | None, directed: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Drop self-loops and duplicate edges (keeping the largest weight); orient undirected pairs src < dst."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float32)[keep]
    if not directed:
        src, dst = np.minimum(src, dst), np.maximum(src, dst)
    n = int(max(src.max(initial=-1), dst.max(initial=-1))) + 1
    n = max(n, 1)
    key = src * n + dst
    if weight is None:
        key = np.unique(key)  # one sort of one int64 key: much faster than a two-key lexsort
        return np.stack([key // n, key % n]), None
    order = np.argsort(key)
    key = key[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    best = np.maximum.reduceat(weight[order], starts) if len(starts) else weight[:0]  # the largest weight
    key = key[starts]
    return np.stack([key // n, key % n]), best


@attrs.frozen(eq=False)
class CellGraph:
    """The wild-type graph: immutable once built; per-strain data never copies it."""

    genes: tuple[str, ...]
    relations: Mapping[str, Relation]
    gene_features: torch.Tensor | None = None  # [N, F] when the source provides them
    extra: HeteroData | None = None  # other node types and their relations (e.g. metabolism)
    _index: Mapping[str, int] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        index = {g: i for i, g in enumerate(self.genes)}
        if len(index) != len(self.genes):
            dup = next(g for g in self.genes if self.genes.count(g) > 1)
            raise ValueError(f"gene vocabulary has duplicate name {dup!r}")
        n = len(self.genes)
        for rel in self.relations.values():
            ei = rel.edge_index
            if ei.dtype != torch.long or ei.dim() != 2 or ei.shape[0] != 2:
                raise ValueError(f"relation {rel.name!r}: edge_index must be a [2, E] long tensor")
            if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
                raise ValueError(f"relation {rel.name!r}: edge_index refers to genes outside 0..{n - 1}")
            if rel.weight is not None and rel.weight.shape != (ei.shape[1],):
                raise ValueError(f"relation {rel.name!r}: weight must have one entry per edge")
        if self.gene_features is not None and self.gene_features.shape[0] != n:
            raise ValueError(f"gene_features has {self.gene_features.shape[0]} rows for {n} genes")
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_edges(
        cls,
        genes: Sequence[str],
        edges: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray | None, bool]],
        gene_features: torch.Tensor | None = None,
        extra: HeteroData | None = None,
    ) -> "CellGraph":
        """Build from ``(name, src, dst, weight_or_None, directed)`` index arrays, canonicalising each."""
        relations = {}
        for name, src, dst, weight, directed in edges:
            ei, w = canonical_edges(src, dst, weight, directed)
            relations[name] = Relation(
                name=name,
                edge_index=torch.from_numpy(ei),
                weight=None if w is None else torch.from_numpy(w),
                directed=directed,
            )
        return cls(genes=tuple(genes), relations=relations, gene_features=gene_features, extra=extra)

    @property
    def num_genes(self) -> int:
        return len(self.genes)

    @property
    def num_edges(self) -> int:
        return sum(r.num_edges for r in self.relations.values())

    def index_of(self, gene: str) -> int:
        return self._index[gene]

    def lookup(self, names: Sequence[str]) -> np.ndarray:
        """Index of each name, -1 where the name is not in the vocabulary."""
        return np.fromiter((self._index.get(n, -1) for n in names), dtype=np.int64, count=len(names))

    def to_hetero(self) -> HeteroData:
        """A PyG view: ``data["gene"]`` plus one ``("gene", name, "gene")`` edge type per relation.

        Shares tensors with this graph (no copy); mutate the view, never the tensors.
        """
        from torch_geometric.data import HeteroData

        data = copy.copy(self.extra) if self.extra is not None else HeteroData()
        data[GENE].num_nodes = self.num_genes
        if self.gene_features is not None:
            data[GENE].x = self.gene_features
        for rel in self.relations.values():
            store = data[GENE, rel.name, GENE]
            store.edge_index = rel.edge_index
            if rel.weight is not None:
                store.edge_weight = rel.weight
        return data

    def fingerprint(self) -> str:
        """Content hash of the vocabulary, every relation, the gene features and the other node types."""
        from cellreg.toolkit.hashing import Hasher

        h = Hasher()
        h.update_strings(self.genes)
        for name in sorted(self.relations):
            rel = self.relations[name]
            h.update_strings([name, str(rel.directed)])
            h.update_array(rel.edge_index.numpy())
            if rel.weight is not None:
                h.update_array(rel.weight.numpy())
        if self.gene_features is not None:  # a run scores with the features it was trained on
            h.update_array(self.gene_features.detach().cpu().float().numpy())
        if self.extra is not None:  # metabolism and other node types count too
            for nt in sorted(self.extra.node_types):
                h.update_strings([nt, str(self.extra[nt].num_nodes)])
            for et in sorted(self.extra.edge_types):
                h.update_strings(list(et))
                for key, value in sorted(self.extra[et].items()):
                    if isinstance(value, torch.Tensor):
                        h.update_strings([key])
                        h.update_array(value.detach().cpu().numpy())
        return h.hexdigest()

    def summary(self) -> str:
        lines = [f"CellGraph: {self.num_genes:,} genes, {len(self.relations)} relations, {self.num_edges:,} edges"]
        n = max(self.num_genes, 1)
        for rel in self.relations.values():
            kind = "directed" if rel.directed else "undirected"
            ends = 1 if rel.directed else 2
            weighted = "weighted" if rel.weight is not None else "unweighted"
            lines.append(
                f"  {rel.name:<20} {kind:<10} {weighted:<10} {rel.num_edges:>10,} edges"
                f"  mean degree {ends * rel.num_edges / n:.1f}"
            )
        if self.gene_features is not None:
            lines.append(f"  gene features: {self.gene_features.shape[1]} per gene")
        if self.extra is not None:
            for nt in self.extra.node_types:
                lines.append(f"  node type {nt}: {self.extra[nt].num_nodes:,} nodes")
            for et in self.extra.edge_types:
                lines.append(f"  relation {'-'.join(et)}: {self.extra[et].num_edges:,} edges")
        return "\n".join(lines)

    __str__ = summary
