"""Random multigraphs for the op and HeteroCell tests: several gene–gene relations (undirected,
directed, weighted) over the same genes, optionally with a random metabolism in ``extra``."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import HeteroData

from cellreg import CellGraph, PhenotypeTable
from cellreg.toolkit.layout import CLAUSE, CLAUSE_OF_REACTION, GENE_IN_CLAUSE, METABOLITE, REACTION, RULE, STOICH


def metabolism(rng: np.random.Generator, n_genes: int, n_reactions: int, n_metabolites: int) -> HeteroData:
    """Reactions with 0-3 AND-clauses of 1-3 genes each, 2-4 metabolites with signed coefficients."""
    literals, clause_of, rule, stoich, coef = [], [], set(), [], []
    for r in range(n_reactions):
        for _ in range(rng.integers(0, 4)):
            genes = rng.choice(n_genes, size=rng.integers(1, 4), replace=False)
            literals += [(int(g), len(clause_of)) for g in genes]
            rule |= {(int(g), r) for g in genes}
            clause_of.append((len(clause_of), r))
        for m in rng.choice(n_metabolites, size=rng.integers(2, 5), replace=False):
            stoich.append((int(m), r))
            coef.append(float(rng.choice([-3, -2, -1, 1, 2, 0.5])))

    def edges(pairs):
        return torch.tensor(sorted(pairs) if isinstance(pairs, set) else pairs, dtype=torch.long).reshape(-1, 2).t()

    extra = HeteroData()
    extra[REACTION].num_nodes = n_reactions
    extra[METABOLITE].num_nodes = n_metabolites
    extra[CLAUSE].num_nodes = len(clause_of)
    extra[RULE].edge_index = edges(rule)
    extra[STOICH].edge_index = edges(stoich)
    extra[STOICH].coefficient = torch.tensor(coef)
    extra[GENE_IN_CLAUSE].edge_index = edges(literals)
    extra[CLAUSE_OF_REACTION].edge_index = edges(clause_of)
    return extra


def random_graph(seed: int = 0, n: int = 40, with_metabolism: bool = False, features: int = 0,
                 connected: bool = True, density: float = 1.0) -> CellGraph:
    rng = np.random.default_rng(seed)
    relations = []
    for name, m, directed, weighted in [("physical", 3 * n, False, False), ("regulatory", 2 * n, True, False),
                                        ("string", 2 * n, False, True)]:
        m = int(m * density)
        src, dst = rng.integers(0, n, m), rng.integers(0, n, m)  # duplicates and self-loops included
        if connected and name == "physical":  # a path through every gene: the graph is connected
            src, dst = np.concatenate([src, np.arange(n - 1)]), np.concatenate([dst, np.arange(1, n)])
        weight = rng.uniform(1, 1000, len(src)) if weighted else None
        relations.append((name, src, dst, weight, directed))
    extra = metabolism(rng, n, n // 2, n // 3) if with_metabolism else None
    feats = torch.from_numpy(rng.standard_normal((n, features)).astype(np.float32)) if features else None
    return CellGraph.from_edges([f"g{i}" for i in range(n)], relations, gene_features=feats, extra=extra)


def strains(graph: CellGraph, sets: list[list[int]], kinds: list[list[int]] | None = None) -> PhenotypeTable:
    return PhenotypeTable.from_sets(sets, np.zeros((len(sets), 1)), ["y"], graph.genes, kinds=kinds)


def random_sets(seed: int, n: int, count: int, max_size: int = 3) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return [sorted(rng.choice(n, size=rng.integers(1, max_size + 1), replace=False).tolist()) for _ in range(count)]
