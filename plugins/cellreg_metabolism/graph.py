"""Metabolism GraphSource: a COBRA model as a CellGraph with reactions, metabolites and gene rules.

Genes are the model's genes, in model order. ``CellGraph.extra`` follows the layout in
``cellreg.toolkit.layout``: reactions, metabolites, ``("gene", "rule", "reaction")``, the stoichiometric
``("metabolite", "stoich", "reaction")`` with ``coefficient``, and the rules in disjunctive normal
form as ``("gene", "in", "clause")`` + ``("clause", "of", "reaction")``; reaction and metabolite ids
are in ``extra["reaction"].names`` / ``extra["metabolite"].names``. Optional gene–gene relations
derived from the model: ``shared_reaction`` links genes named in the same rule.
"""

from __future__ import annotations

import ast
from itertools import combinations

import numpy as np
import torch
from torch_geometric.data import HeteroData

from cellreg import CellGraph, Context, GraphSource
from cellreg_metabolism.gpr import dnf
from cellreg_metabolism.reader import model_problems, read_model
from cellreg.toolkit.layout import CLAUSE, CLAUSE_OF_REACTION, GENE_IN_CLAUSE, METABOLITE, REACTION, RULE, STOICH
from cellreg_metabolism.configs import MetabolismGraphConfig


def _edges(pairs: list[tuple[int, int]]) -> torch.Tensor:
    return torch.tensor(pairs, dtype=torch.long).reshape(-1, 2).t().contiguous()


def graph_from_model(model, gene_relations=("shared_reaction",), max_clauses: int = 4096) -> CellGraph:
    genes = [g.id for g in model.genes]
    gene_index = {g: i for i, g in enumerate(genes)}
    metabolite_index = {m.id: i for i, m in enumerate(model.metabolites)}
    stoich, coefficient, literals, clause_of, rule_genes = [], [], [], [], []
    for r, reaction in enumerate(model.reactions):
        for m, coef in sorted((metabolite_index[met.id], float(c)) for met, c in reaction.metabolites.items()):
            stoich.append((m, r))  # by reaction, then metabolite: the same graph from any file format
            coefficient.append(coef)
        body = reaction.gpr.body
        named = {n.id for n in ast.walk(body) if isinstance(n, ast.Name)} if body is not None else set()
        unknown = sorted(named - gene_index.keys())
        if unknown:
            raise ValueError(f"reaction {reaction.id}: rule names genes not in the model: {unknown}")
        for clause in dnf(body, max_clauses):
            literals += [(gene_index[g], len(clause_of)) for g in sorted(clause)]
            clause_of.append((len(clause_of), r))
        rule_genes.append(sorted(gene_index[g] for g in named))  # every gene the rule names
    extra = HeteroData()
    extra[REACTION].num_nodes = len(model.reactions)
    extra[REACTION].names = [r.id for r in model.reactions]
    extra[METABOLITE].num_nodes = len(model.metabolites)
    extra[METABOLITE].names = [m.id for m in model.metabolites]
    extra[CLAUSE].num_nodes = len(clause_of)
    extra[RULE].edge_index = _edges([(g, r) for r, gs in enumerate(rule_genes) for g in gs])
    extra[STOICH].edge_index = _edges(stoich)
    extra[STOICH].coefficient = torch.tensor(coefficient, dtype=torch.float32)
    extra[GENE_IN_CLAUSE].edge_index = _edges(literals)
    extra[CLAUSE_OF_REACTION].edge_index = _edges(clause_of)
    relations = []
    if "shared_reaction" in gene_relations:
        pairs = {p for gs in rule_genes for p in combinations(gs, 2)}
        a = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
        relations.append(("shared_reaction", a[:, 0], a[:, 1], None, False))
    return CellGraph.from_edges(genes, relations, extra=extra)


class MetabolismGraph(GraphSource):
    """GraphSource for a COBRA model (SBML, JSON, MAT, YAML, or one bundled with COBRApy)."""

    def __init__(self, config: MetabolismGraphConfig, context: Context) -> None:
        self.config, self.base_dir = config, context.base_dir

    def check(self) -> list[str]:
        return model_problems("graph.model", self.config.model, self.base_dir)

    def load(self) -> CellGraph:
        model = read_model(self.config.model, self.base_dir)
        return graph_from_model(model, self.config.gene_relations, self.config.max_clauses)
