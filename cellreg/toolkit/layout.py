"""Where graph ops and per-strain encoders find things in a CellGraph, and how they name batch keys.

``CellGraph.extra`` layout for metabolism (written by a GraphSource of metabolic models):

* node types ``reaction`` (R) and ``metabolite`` (M);
* ``("gene", "rule", "reaction")``: ``edge_index`` [2, E]; gene g occurs in reaction r's gene rule;
* ``("metabolite", "stoich", "reaction")``: ``edge_index`` [2, E] and ``coefficient`` [E] float
  (negative: consumed, positive: produced), the stoichiometric metabolite–reaction hypergraph;
* the gene rules in disjunctive normal form, as a two-level boolean circuit: node type ``clause``
  (C AND-terms), ``("gene", "in", "clause")`` [2, nnz] (the literals) and
  ``("clause", "of", "reaction")`` [2, C] (a reaction is the OR of its clauses). A reaction with no
  clause has no gene rule and never dies; one whose every clause lost a gene is deleted.

Every other edge type of ``extra`` (not touching ``clause``) is a message relation too; its edge
weight, if any, is its ``edge_weight`` or ``coefficient`` attribute.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch

from cellreg import CellGraph

GENE, REACTION, METABOLITE, CLAUSE = "gene", "reaction", "metabolite", "clause"
RULE = (GENE, "rule", REACTION)
STOICH = (METABOLITE, "stoich", REACTION)
GENE_IN_CLAUSE = (GENE, "in", CLAUSE)
CLAUSE_OF_REACTION = (CLAUSE, "of", REACTION)
WEIGHT_ATTRS = ("edge_weight", "coefficient")


@attrs.frozen(eq=False)
class EdgeSpec:
    """One message relation as stored once in the graph (its canonical edge positions).

    ``undirected``: a gene–gene relation stored once per pair whose messages flow both ways.
    """

    src: str
    name: str
    dst: str
    edge_index: torch.Tensor  # [2, E] long
    weight: torch.Tensor | None  # [E] float or None
    undirected: bool

    @property
    def key(self) -> str:
        return edge_key(self.src, self.name, self.dst)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])


def edge_key(src: str, name: str, dst: str) -> str:
    return f"{src}__{name}__{dst}"


def node_counts(graph: CellGraph) -> dict[str, int]:
    """Node types that carry states: genes, then ``extra``'s types except the rule circuit."""
    counts = {GENE: graph.num_genes}
    if graph.extra is not None:
        for t in graph.extra.node_types:
            if t not in (GENE, CLAUSE):
                counts[t] = int(graph.extra[t].num_nodes)
    return counts


def edge_specs(graph: CellGraph) -> list[EdgeSpec]:
    """Every message relation: gene–gene relations in graph order, then ``extra``'s edge types."""
    specs = [EdgeSpec(GENE, r.name, GENE, r.edge_index, r.weight, not r.directed) for r in graph.relations.values()]
    if graph.extra is not None:
        for et in graph.extra.edge_types:
            if CLAUSE in (et[0], et[2]):
                continue
            store = graph.extra[et]
            weight = next((store[a] for a in WEIGHT_ATTRS if a in store), None)
            specs.append(EdgeSpec(et[0], et[1], et[2], store.edge_index, weight, False))
    return specs


@attrs.frozen(eq=False)
class RuleCircuit:
    """Gene rules in disjunctive normal form: literal ``i`` puts gene ``lit_gene[i]`` in clause
    ``lit_clause[i]``; clause ``c`` belongs to reaction ``clause_reaction[c]``."""

    lit_gene: np.ndarray
    lit_clause: np.ndarray
    clause_reaction: np.ndarray
    num_reactions: int

    @property
    def num_clauses(self) -> int:
        return len(self.clause_reaction)

    @property
    def clauses_per_reaction(self) -> np.ndarray:
        return np.bincount(self.clause_reaction, minlength=self.num_reactions)


def rule_circuit(graph: CellGraph) -> RuleCircuit | None:
    extra = graph.extra
    if extra is None or GENE_IN_CLAUSE not in extra.edge_types or CLAUSE_OF_REACTION not in extra.edge_types:
        return None
    lit = extra[GENE_IN_CLAUSE].edge_index.numpy()
    of = extra[CLAUSE_OF_REACTION].edge_index.numpy()
    clause_reaction = np.empty(int(extra[CLAUSE].num_nodes), np.int64)
    clause_reaction[of[0]] = of[1]
    return RuleCircuit(lit[0].astype(np.int64), lit[1].astype(np.int64), clause_reaction,
                       int(extra[REACTION].num_nodes))


# -- batch keys --------------------------------------------------------------------------------
# Lazy masks: the deleted items of each strain as (strain, position) pairs, sorted and unique.
def dead_keys(name: str) -> tuple[str, str]:
    """``dead.<node type or edge key>.strain`` and ``.index`` ([n] long each)."""
    return f"dead.{name}.strain", f"dead.{name}.index"


# Batched subgraphs (explicit copies, k-hop): PyG-style block-diagonal batches. ``sub`` holds each
# strain's perturbed graph; ``ref``, when present, the unperturbed graph it is compared with (k-hop:
# the neighbourhood before the deletions), instead of the whole wild type.
SUB, REF = "sub", "ref"


def sub_node_keys(node_type: str, prefix: str = SUB) -> tuple[str, str]:
    """``sub.<node type>.id`` (original index of each kept node) and ``.batch`` (its strain), [n] long."""
    return f"{prefix}.{node_type}.id", f"{prefix}.{node_type}.batch"


def sub_edge_keys(key: str, prefix: str = SUB) -> tuple[str, str]:
    """``sub.<edge key>.edge_index`` [2, m] long into the batch's node rows, ``.edge_weight`` [m] float."""
    return f"{prefix}.{key}.edge_index", f"{prefix}.{key}.edge_weight"


def sub_strain_size(batch: dict, node_types: list[str], edges: list[tuple[str, str]],
                    prefix: str = SUB) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes [B] and edges [B] of each strain's subgraph in a ``sub.*`` batch (``edges``: (key, src type))."""
    num = batch["genes"].shape[0]
    nodes = sum(torch.bincount(batch[sub_node_keys(t, prefix)[1]], minlength=num) for t in node_types)
    count = torch.zeros(num, dtype=torch.long)
    for key, src in edges:
        owner = batch[sub_node_keys(src, prefix)[1]][batch[sub_edge_keys(key, prefix)[0]][0]]
        count += torch.bincount(owner, minlength=num)
    return nodes, count
