"""Explicit-subgraph perturbation op: the correctness oracle, slow by design.

Per strain it copies the wild-type graph minus the deleted genes with PyG's
``HeteroData.subgraph`` (nodes relabelled, every relation's edges among the survivors kept, edge
weights sliced along), after dropping each reaction whose gene rule can no longer be satisfied
(evaluated here per strain over the whole rule circuit, independently of the lazy op's counting).
The copies are batched block-diagonally with ``Batch.from_data_list``. O(|E|) per strain.

Batch keys (B strains; node rows ordered by strain, then original index):

* ``genes``, ``kinds`` [B, K] long, ``mask`` [B, K] bool: as the ``index`` op;
* ``sub.<node type>.id`` [n] long: the original index of each surviving node;
  ``sub.<node type>.batch`` [n] long: its strain. Node types: ``gene`` and the graph's ``extra``
  types (``reaction``, ``metabolite``); metabolites never die;
* ``sub.<edge key>.edge_index`` [2, m] long: the surviving edges of each relation, in canonical
  orientation (undirected gene relations once per pair), indexing the batch's node rows;
  ``sub.<edge key>.edge_weight`` [m] float for weighted relations.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Batch as PyGBatch
from torch_geometric.data import HeteroData

from cellreg import Batch, CellGraph, PerturbationOp, PhenotypeTable
from cellreg.toolkit.incidence import deletions
from cellreg_ops.index_op import pad_sets
from cellreg.toolkit.layout import (GENE, REACTION, edge_specs, node_counts, rule_circuit, sub_edge_keys, sub_node_keys,
                                sub_strain_size)


def message_graph(graph: CellGraph) -> HeteroData:
    """The relations as one HeteroData with a ``node_id`` per node (what a copy carries along)."""
    data = HeteroData()
    for t, n in node_counts(graph).items():
        data[t].num_nodes = n
        data[t].node_id = torch.arange(n)
    for spec in edge_specs(graph):
        store = data[spec.src, spec.name, spec.dst]
        store.edge_index = spec.edge_index
        if spec.weight is not None:
            store.edge_weight = spec.weight
    return data


def flatten(batch: PyGBatch, keys_of: dict[tuple[str, str, str], str]) -> Batch:
    """A PyG batch of HeteroData as the flat ``sub.*`` keys."""
    out = {}
    for t in batch.node_types:
        kid, kbatch = sub_node_keys(t)
        out[kid], out[kbatch] = batch[t].node_id, batch[t].batch
    for et, key in keys_of.items():
        kei, kw = sub_edge_keys(key)
        out[kei] = batch[et].edge_index
        if "edge_weight" in batch[et]:
            out[kw] = batch[et].edge_weight
    return out


class ExplicitSubgraphOp(PerturbationOp):
    def __init__(self, graph: CellGraph) -> None:
        self.data = message_graph(graph)
        self.keys_of = {(s.src, s.name, s.dst): s.key for s in edge_specs(graph)}
        self.num_genes = graph.num_genes
        self.circuit = rule_circuit(graph)

    def strain_size(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Nodes and edges of each strain's copy (every node type, every relation)."""
        return sub_strain_size(batch, list(self.data.node_types), [(k, et[0]) for et, k in self.keys_of.items()])

    def alive_reactions(self, deleted: np.ndarray) -> np.ndarray:
        """[R] bool: a reaction lives if it has no rule or one of its clauses keeps all its genes."""
        c = self.circuit
        gene_alive = np.ones(self.num_genes, bool)
        gene_alive[deleted] = False
        broken = np.bincount(c.lit_clause, weights=~gene_alive[c.lit_gene], minlength=c.num_clauses)
        intact = np.bincount(c.clause_reaction, weights=broken == 0, minlength=c.num_reactions)
        return (c.clauses_per_reaction == 0) | (intact > 0)

    def perturb(self, deleted: np.ndarray) -> HeteroData:
        """One strain's graph: a relabelled copy without the deleted genes and the reactions they kill."""
        keep = {GENE: torch.ones(self.num_genes, dtype=torch.bool)}
        keep[GENE][torch.from_numpy(deleted)] = False
        if self.circuit is not None:
            keep[REACTION] = torch.from_numpy(self.alive_reactions(deleted))
        return self.data.subgraph(keep)

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch:
        genes, kinds, mask = pad_sets(table, rows)
        strain, gene = deletions(table, rows)
        copies = [self.perturb(gene[strain == b]) for b in range(len(rows))]  # the oracle may loop
        out = flatten(PyGBatch.from_data_list(copies), self.keys_of)
        out.update(genes=torch.from_numpy(genes.astype(np.int64)), kinds=torch.from_numpy(kinds.astype(np.int64)),
                   mask=torch.from_numpy(mask))
        return out
