"""Lazy-mask perturbation op: a strain is the list of what it deletes, never a copy of the graph.

``prepare`` builds an incidence cache per relation (node → positions of its edges, CSR) once, in
O(|E|). ``collate`` then reads only the deleted genes' rows: O(Σ deg) per strain, whatever |E| is
(``touched`` counts the positions read, for the test that says so). A gene rule that can no longer
be satisfied deletes its reaction, and the reaction's edges with it.

Batch keys (every array sorted by strain, then position; B strains in the batch):

* ``genes``, ``kinds`` [B, K] long, ``mask`` [B, K] bool: as the ``index`` op;
* ``dead.<node type>.strain``, ``dead.<node type>.index`` [n] long: the dead nodes
  (node types ``gene``, and ``reaction`` when the graph has gene rules);
* ``dead.<edge key>.strain``, ``dead.<edge key>.index`` [m] long: the dead edges of each relation,
  as positions in its canonical edge list (``Relation.edge_index`` columns, or the ``extra`` edge
  type's), with ``<edge key>`` = ``src__name__dst`` (e.g. ``gene__physical__gene``). Every
  listed edge touches a listed node (a deletion kills edges only through their ends).

Why lists and not masks: per-relation edge masks would be B·|E| booleans (77 MB per batch of 32 at
yeast scale); the lists hold Σ deg entries (a few thousand per strain). The model turns them into
"dead edges send no message, dead nodes carry nothing" on the one shared wild-type graph.
"""

from __future__ import annotations

import numpy as np
import torch

from cellreg import Batch, CellGraph, PerturbationOp, PhenotypeTable
from cellreg.toolkit.incidence import Incidence, deletions, unique_pairs
from cellreg_ops.index_op import pad_sets
from cellreg.toolkit.layout import GENE, REACTION, dead_keys, edge_specs, node_counts, rule_circuit
from cellreg.toolkit.gene_rules import RuleEvaluator

MORTAL = (GENE, REACTION)  # node types a deletion can kill


class LazyMaskOp(PerturbationOp):
    def __init__(self, graph: CellGraph) -> None:
        self.touched = 0  # incidence positions read so far (a cost counter, not used for results)
        self.num_genes = graph.num_genes
        circuit = rule_circuit(graph)
        self.rules = RuleEvaluator(circuit, graph.num_genes) if circuit is not None else None
        self.incidence: dict[str, dict[str, Incidence]] = {}
        self.num_edges: dict[str, int] = {}
        sizes = node_counts(graph)
        self.graph_size = (sum(sizes.values()), sum(s.num_edges for s in edge_specs(graph)))
        for spec in edge_specs(graph):
            ei = spec.edge_index.numpy()
            by_type = {}
            for t in MORTAL:
                ends = [ei[i] for i, end in enumerate((spec.src, spec.dst)) if end == t]
                if ends:
                    by_type[t] = Incidence(ends, sizes[t], spec.num_edges)
            self.incidence[spec.key] = by_type
            self.num_edges[spec.key] = spec.num_edges

    def strain_size(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Nodes and edges the encoder passes messages over per strain: the whole shared graph
        (dead ones send zeros), not the smaller live graph an explicit copy would hold."""
        num = batch["genes"].shape[0]
        nodes, edges = self.graph_size
        return torch.full((num,), nodes), torch.full((num,), edges)

    def dead_nodes(self, table: PhenotypeTable, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        strain, gene = deletions(table, rows)
        dead = {GENE: (strain, gene)}
        if self.rules is not None:
            dead[REACTION] = self.rules.dead_reactions(strain, gene)
        return dead

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch:
        genes, kinds, mask = pad_sets(table, rows)
        out = {"genes": torch.from_numpy(genes.astype(np.int64)),
               "kinds": torch.from_numpy(kinds.astype(np.int64)),
               "mask": torch.from_numpy(mask)}
        dead = self.dead_nodes(table, rows)
        for t, (strain, index) in dead.items():
            self._put(out, t, strain, index)
        for key, by_type in self.incidence.items():
            parts = [inc.touching(*dead[t]) for t, inc in by_type.items() if t in dead]
            strain = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
            pos = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
            self.touched += len(pos)
            self._put(out, key, *unique_pairs(strain, pos, self.num_edges[key]))
        return out

    @staticmethod
    def _put(out: Batch, name: str, strain: np.ndarray, index: np.ndarray) -> None:
        ks, ki = dead_keys(name)
        out[ks] = torch.from_numpy(np.ascontiguousarray(strain, dtype=np.int64))
        out[ki] = torch.from_numpy(np.ascontiguousarray(index, dtype=np.int64))
