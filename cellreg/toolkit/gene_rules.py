"""Which reactions a batch of deletions kills, by counting, in O(Σ deg) per strain.

A rule in disjunctive normal form is an OR of AND-clauses. Deleting a gene falsifies every clause
that names it; a reaction dies when all of its clauses are false. So: gather the clauses of the
deleted genes (CSR), deduplicate per strain, count false clauses per (strain, reaction), and
compare with the reaction's clause count. Reactions without a rule never appear.
"""

from __future__ import annotations

import numpy as np

from cellreg.toolkit.incidence import Incidence, unique_pairs
from cellreg.toolkit.layout import RuleCircuit


class RuleEvaluator:
    def __init__(self, circuit: RuleCircuit, num_genes: int) -> None:
        self.gene_clauses = Incidence([circuit.lit_gene], num_genes, len(circuit.lit_gene))
        self.lit_clause = circuit.lit_clause
        self.clause_reaction = circuit.clause_reaction
        self.clauses_per_reaction = circuit.clauses_per_reaction
        self.num_clauses = circuit.num_clauses
        self.num_reactions = circuit.num_reactions

    def dead_reactions(self, strain: np.ndarray, gene: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(strain, reaction) pairs, sorted and unique, for the given (strain, deleted gene) pairs."""
        s, literal = self.gene_clauses.touching(strain, gene)
        s, clause = unique_pairs(s, self.lit_clause[literal], self.num_clauses)  # the false clauses
        n = max(self.num_reactions, 1)
        key, false_clauses = np.unique(s * n + self.clause_reaction[clause], return_counts=True)
        dead = false_clauses == self.clauses_per_reaction[key % n]
        return key[dead] // n, key[dead] % n
