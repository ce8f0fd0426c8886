"""Several CellGraphs over one gene vocabulary: the multigraph of the research (BioGRID, TF→target,
STRING channels, a metabolic model, an ontology) built from one source each.

Each source's genes are mapped by name (its ``map_genes`` table first, then exact, then
case-insensitive where a single vocabulary gene has that spelling) onto the vocabulary: a given
list, or the union of the sources in order of first appearance. In the union, a later source's
name in another case meets an earlier source's gene; two names one source (or the given list)
spells differently are two genes, whatever their case (Drosophila's ``Dl`` Delta and ``dl``
dorsal). Extra edge types' per-edge attributes are the tensors
whose first dimension is the edge count (the layout of :mod:`cellreg.toolkit.layout`).
Relations and other node types are copied across; gene ends of ``extra`` edge types are re-indexed,
other node types keep their own indices. A relation or node type two sources both define is an
error naming both, as silently merging two meanings of one name would be.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Mapping, Sequence

import attrs
import numpy as np
import torch
from torch_geometric.data import HeteroData

from cellreg.data.graph import GENE, CellGraph, Relation, canonical_edges
from cellreg.toolkit.gene_names import GeneNames
from cellreg.toolkit.text_tables import suggest

log = logging.getLogger("cellreg")


@attrs.frozen(eq=False)
class Part:
    """One source's graph, the label messages name it by, and its own names -> vocabulary names."""

    label: str
    graph: CellGraph
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    def names(self) -> list[str]:
        """The source's genes as the vocabulary spells them: through ``map_genes`` (any case)."""
        folded = {a.casefold(): g for a, g in self.aliases.items()}
        return [folded.get(g.casefold(), g) for g in self.graph.genes]


def _vocabulary(parts: Sequence[Part]) -> list[str]:
    """Every source's genes in order of first appearance. A name another case of one earlier gene
    is that gene (its first spelling); a source's own names are never merged with each other, and a
    name matching several earlier genes by case alone is an error (map it with ``map_genes``)."""
    names: dict[str, None] = {}
    folded: dict[str, list[str]] = {}
    for part in parts:
        own = list(dict.fromkeys(part.names()))
        cases = Counter(g.casefold() for g in own)  # names this source spells in several cases stay apart
        for g in own:
            if g in names:
                continue
            earlier = folded.get(g.casefold(), [])
            if earlier and cases[g.casefold()] == 1:
                if len(earlier) > 1:
                    raise ValueError(f"{part.label}: gene {g!r} matches {', '.join(map(repr, earlier))} of earlier "
                                     "sources by case alone; name the one it is with map_genes")
                continue  # another spelling of one earlier gene
            names[g] = None
            folded.setdefault(g.casefold(), []).append(g)
    return list(names)


def _index(part: Part, vocabulary: Sequence[str], unknown: str, where: str) -> np.ndarray:
    """Vocabulary index of each of the part's genes, -1 where it has none and ``unknown = "drop"``."""
    names = part.names()
    index = GeneNames(vocabulary, {}).lookup(names)  # exact, then ignoring case
    missing = np.flatnonzero(index < 0)
    if len(missing):
        examples = ", ".join(f"{names[i]!r}{suggest(names[i], vocabulary)}" for i in missing[:5])
        msg = f"{part.label}: {len(missing):,} of its {len(names):,} genes are not in {where}, e.g. {examples}"
        if unknown == "error":
            raise ValueError(msg + '; set unknown_genes = "drop" to leave them (and their edges) out')
        log.warning("%s; dropped with their edges", msg)
    return index


def _claim(owners: dict, key, label: str, what: str) -> None:
    if key in owners:
        raise ValueError(f"{what} {key!r} comes from both {owners[key]} and {label}; rename one (each "
                         "source's own options name its relations)")
    owners[key] = label


def compose(parts: Sequence[Part], vocabulary: Sequence[str] | None = None, unknown: str = "error",
            where: str = "the union of the sources") -> CellGraph:
    if not parts:
        raise ValueError("compose: no sources")
    vocabulary = list(vocabulary) if vocabulary is not None else _vocabulary(parts)
    n = len(vocabulary)
    relations: dict[str, Relation] = {}
    rel_owner: dict[str, str] = {}
    extra, type_owner = HeteroData(), {}
    features = []
    for part in parts:
        index = torch.from_numpy(_index(part, vocabulary, unknown, where))
        for name, rel in part.graph.relations.items():
            _claim(rel_owner, name, part.label, "relation")
            ei = index[rel.edge_index]
            keep = (ei >= 0).all(0)
            weight = None if rel.weight is None else rel.weight[keep].numpy()
            # two source names for one gene would leave a self-loop or a repeated edge: canonical again
            edges, weight = canonical_edges(ei[0, keep].numpy(), ei[1, keep].numpy(), weight, rel.directed)
            relations[name] = Relation(name, torch.from_numpy(edges),
                                       None if weight is None else torch.from_numpy(weight), rel.directed)
        if part.graph.gene_features is not None:
            f = torch.zeros(n, part.graph.gene_features.shape[1])
            ok = index >= 0
            f[index[ok]] = part.graph.gene_features[ok].float()
            features.append(f)
        if part.graph.extra is not None:
            _copy_extra(part.graph.extra, index, extra, type_owner, part.label)
    return CellGraph(genes=tuple(vocabulary), relations=relations,
                     gene_features=torch.cat(features, 1) if features else None,
                     extra=extra if type_owner else None)


def _copy_extra(src: HeteroData, index: torch.Tensor, out: HeteroData, owners: dict, label: str) -> None:
    for nt in src.node_types:
        if nt == GENE:
            if any(isinstance(v, torch.Tensor) for v in src[nt].values()):
                raise ValueError(f"{label}: per-gene attributes in the graph's extra node types cannot be composed; "
                                 "give per-gene vectors as [[features]]")
            continue
        _claim(owners, nt, label, "node type")
        for key, value in src[nt].items():
            out[nt][key] = value
    for et in src.edge_types:
        _claim(owners, et, label, "edge type")
        store = src[et]
        ei = store.edge_index
        keep = torch.ones(ei.shape[1], dtype=torch.bool)
        ei = ei.clone()
        for side, node_type in ((0, et[0]), (1, et[2])):
            if node_type == GENE:
                ei[side] = index[ei[side]]
                keep &= ei[side] >= 0
        for key, value in store.items():
            if key == "edge_index":
                out[et].edge_index = ei[:, keep].contiguous()
            elif isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == keep.shape[0]:
                out[et][key] = value[keep]
            else:
                out[et][key] = value
