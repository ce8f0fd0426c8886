"""FBA-simulated phenotypes: growth of gene-deletion strains by flux balance analysis.

Fitness of a strain is its optimal objective flux (biomass) over the wild type's, with the
reactions its deletions kill (the graph's gene rules) blocked; infeasible means 0. Labels follow the
synthetic organism's: ``fitness`` and ``interaction`` (digenic ε = f_ij − f_i f_j for pairs, trigenic
τ = f_ijk − f_i f_j f_k − ε_ij f_k − ε_ik f_j − ε_jk f_i for triples, NaN for singles). One linear
program per distinct set of dead reactions (most deletions kill nothing, or the same reactions).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from cellreg import CellGraph, Context, PhenotypeSource, PhenotypeTable
from cellreg_metabolism.reader import model_problems, read_model
from cellreg.toolkit.layout import rule_circuit
from cellreg.toolkit.gene_rules import RuleEvaluator
from cellreg_metabolism.configs import FBAPhenotypesConfig

LABELS = ("fitness", "interaction")


def _draw(n: int, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` distinct sorted sets of ``size`` distinct genes (all of them when few exist)."""
    total = 1
    for i in range(size):
        total = total * (n - i) // (i + 1)
    if count >= total:
        return np.array(list(combinations(range(n), size)), dtype=np.int64).reshape(-1, size)
    got = np.zeros((0, size), np.int64)
    while len(got) < count:
        cand = np.sort(rng.integers(0, n, size=(2 * count, size)), axis=1)
        cand = cand[np.all(np.diff(cand, axis=1) != 0, axis=1)]
        got = np.unique(np.concatenate([got, cand]), axis=0)
    return got[rng.permutation(len(got))[:count]]


class Growth:
    """Relative growth of gene-deletion sets, memoised by the set of reactions they kill."""

    def __init__(self, model, graph: CellGraph) -> None:
        circuit = rule_circuit(graph)
        if circuit is None:
            raise ValueError("fba phenotypes need a graph with gene rules (graph name = \"metabolism\")")
        if tuple(g.id for g in model.genes) != graph.genes:
            raise ValueError("fba phenotypes: the model's genes differ from the graph's; use the same model")
        self.model, self.rules = model, RuleEvaluator(circuit, graph.num_genes)
        self.reactions = list(model.reactions)
        self.cache: dict[tuple, float] = {}
        self.wild_type = max(float(model.slim_optimize(error_value=0.0)), 1e-12)

    def __call__(self, sets: np.ndarray) -> np.ndarray:
        """[S, k] gene sets -> [S] growth relative to the wild type."""
        strain = np.repeat(np.arange(len(sets)), sets.shape[1])
        s, r = self.rules.dead_reactions(strain, sets.ravel())
        cuts = np.split(r, np.searchsorted(s, np.arange(1, len(sets))))
        return np.array([self._growth(tuple(c.tolist())) for c in cuts])

    def _growth(self, dead: tuple) -> float:
        if dead not in self.cache:
            with self.model:
                for j in dead:
                    self.reactions[j].bounds = (0.0, 0.0)
                value = float(self.model.slim_optimize(error_value=0.0))
            self.cache[dead] = max(value, 0.0) / self.wild_type
        return self.cache[dead]


def simulate(graph: CellGraph, model, config: FBAPhenotypesConfig, seed: int) -> PhenotypeTable:
    rng = np.random.default_rng([seed, 0xFBA])
    growth = Growth(model, graph)
    n = graph.num_genes
    single = growth(np.arange(n)[:, None])
    blocks = []
    if config.singles:
        blocks.append((np.arange(n)[:, None], single, np.full(n, np.nan)))

    def eps(a, b):
        return growth(np.stack([a, b], 1)) - single[a] * single[b]

    if config.doubles:
        s = _draw(n, 2, config.doubles, rng)
        fit = growth(s)
        blocks.append((s, fit, fit - single[s[:, 0]] * single[s[:, 1]]))
    if config.triples:
        s = _draw(n, 3, config.triples, rng)
        i, j, k = s.T
        fit = growth(s)
        tau = fit - single[i] * single[j] * single[k] - eps(i, j) * single[k] - eps(i, k) * single[j] \
            - eps(j, k) * single[i]
        blocks.append((s, fit, tau))
    sizes = np.concatenate([np.full(len(b[0]), b[0].shape[1]) for b in blocks])
    genes = np.concatenate([b[0].ravel() for b in blocks]).astype(np.int32)
    labels = np.stack([np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks])], 1)
    labels = labels + config.noise * rng.standard_normal(labels.shape)
    return PhenotypeTable(np.concatenate([[0], np.cumsum(sizes)]), genes, np.zeros(len(genes), np.int8),
                          labels.astype(np.float32), LABELS, graph.genes)


class FBAPhenotypes(PhenotypeSource):
    """PhenotypeSource: FBA growth of single, double and triple deletions on the graph's model."""

    def __init__(self, config: FBAPhenotypesConfig, context: Context) -> None:
        self.config, self.base_dir = config, context.base_dir
        self.seed = context.seed if config.seed is None else config.seed

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return simulate(graph, read_model(self.config.model, self.base_dir), self.config, self.seed)

    def check(self) -> list[str]:
        return model_problems("phenotypes.model", self.config.model, self.base_dir)

    def label_names(self) -> list[str]:
        return list(LABELS)
