"""k-hop perturbation op: each strain's graph is the union of the k-hop neighbourhoods of its
deleted genes, minus the deleted genes (and the reactions they kill), and its reference is the
same neighbourhood before the deletions. A per-strain encoder compares the two, F(N) − F(N∖S),
not the whole wild type with a neighbourhood: nodes far from S then cancel, as they do in
F(G) − F(G∖S), and with sum pooling and k at least twice the layers the two are equal.

Neighbourhoods are taken in the whole message graph (every relation, both directions, every node
type). Node ids and edge indices are relabelled together: ``sub.<t>.id`` says which original node
each batch row is, and every edge indexes those rows (the earlier research code sliced features
but kept the old edge numbering). With k at least the graph's diameter this is exactly the
explicit subgraph. A strain that deletes nothing gets two empty graphs.

Vectorised over the batch (no loop over strains): a breadth-first search on (strain, node) pairs
over a CSR adjacency, then, per relation, the edges leaving each kept node (CSR incidence) whose
other end is kept too.

Batch keys: those of the ``explicit`` op (``genes``, ``kinds``, ``mask``, ``sub.*``) and ``ref.*``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from cellreg import Batch, CellGraph, PerturbationOp, PhenotypeTable
from cellreg.toolkit.incidence import Incidence, deletions, gather_ranges, unique_pairs
from cellreg_ops.index_op import pad_sets
from cellreg.toolkit.layout import (GENE, REACTION, REF, SUB, edge_specs, node_counts, rule_circuit, sub_edge_keys,
                            sub_node_keys, sub_strain_size)
from cellreg.toolkit.gene_rules import RuleEvaluator
from cellreg_ops.configs import KHopConfig


class KHopOp(PerturbationOp):
    def __init__(self, graph: CellGraph, config: KHopConfig | None = None) -> None:
        self.k = (config or KHopConfig()).k
        counts = node_counts(graph)
        self.types = list(counts)
        self.sizes = counts
        self.offset = dict(zip(self.types, np.cumsum([0] + list(counts.values()))[:-1].tolist()))
        self.total = int(sum(counts.values()))
        self.specs = []
        src, dst = [], []
        for spec in edge_specs(graph):
            ei = spec.edge_index.numpy().astype(np.int64)
            weight = None if spec.weight is None else spec.weight.numpy()
            out_edges = Incidence([ei[0]], counts[spec.src], spec.num_edges)
            self.specs.append((spec.key, spec.src, spec.dst, ei, weight, out_edges))
            src.append(ei[0] + self.offset[spec.src])
            dst.append(ei[1] + self.offset[spec.dst])
        a = np.concatenate(src + dst) if src else np.zeros(0, np.int64)
        b = np.concatenate(dst + src) if src else np.zeros(0, np.int64)
        adj = sp.csr_matrix((np.ones(len(a), np.int8), (a, b)), shape=(self.total, self.total))
        self.adj_ptr, self.adj_idx = adj.indptr.astype(np.int64), adj.indices.astype(np.int64)
        circuit = rule_circuit(graph)
        self.rules = RuleEvaluator(circuit, graph.num_genes) if circuit is not None else None

    def strain_size(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Nodes and edges the encoder reads per strain: its k-hop subgraph and the reference."""
        edges = [(key, src) for key, src, *_ in self.specs]
        sizes = [sub_strain_size(batch, self.types, edges, prefix) for prefix in (SUB, REF)]
        return sizes[0][0] + sizes[1][0], sizes[0][1] + sizes[1][1]

    def neighbourhood(self, strain: np.ndarray, seeds: np.ndarray, num_strains: int) -> np.ndarray:
        """[B, total] bool: the nodes within k hops of each strain's seeds (global node ids)."""
        seen = np.zeros((num_strains, self.total), bool)
        seen[strain, seeds] = True
        for _ in range(self.k):
            s, v = gather_ranges(self.adj_ptr, self.adj_idx, seeds, strain)
            fresh = ~seen[s, v]
            strain, seeds = unique_pairs(s[fresh], v[fresh], self.total)
            seen[strain, seeds] = True
        return seen

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch:
        genes, kinds, mask = pad_sets(table, rows)
        n = len(rows)
        strain, gene = deletions(table, rows)
        hood = self.neighbourhood(strain, gene + self.offset[GENE], n)
        keep = hood.copy()
        keep[strain, gene + self.offset[GENE]] = False
        if self.rules is not None:
            rs, rr = self.rules.dead_reactions(strain, gene)
            keep[rs, rr + self.offset[REACTION]] = False
        out = {"genes": torch.from_numpy(genes.astype(np.int64)),
               "kinds": torch.from_numpy(kinds.astype(np.int64)),
               "mask": torch.from_numpy(mask)}
        self.blocks(out, keep, SUB)
        self.blocks(out, hood, REF)
        return out

    def blocks(self, out: Batch, keep: np.ndarray, prefix: str) -> None:
        """The induced subgraphs on ``keep`` [B, total], relabelled, as ``<prefix>.*`` batch keys."""
        row_of, kept = {}, {}
        for t in self.types:
            block = keep[:, self.offset[t]: self.offset[t] + self.sizes[t]]
            b, v = np.nonzero(block)  # row-major: by strain, then original index
            rows_t = np.full(block.shape, -1, np.int64)
            rows_t[b, v] = np.arange(len(v))
            row_of[t], kept[t] = rows_t, (b, v)
            kid, kbatch = sub_node_keys(t, prefix)
            out[kid], out[kbatch] = torch.from_numpy(v.astype(np.int64)), torch.from_numpy(b.astype(np.int64))
        for key, src_t, dst_t, ei, weight, out_edges in self.specs:
            s, pos = out_edges.touching(*kept[src_t])
            d = row_of[dst_t][s, ei[1, pos]]
            ok = d >= 0
            s, pos, d = s[ok], pos[ok], d[ok]
            kei, kw = sub_edge_keys(key, prefix)
            out[kei] = torch.from_numpy(np.stack([row_of[src_t][s, ei[0, pos]], d]))
            if weight is not None:
                out[kw] = torch.from_numpy(weight[pos])
