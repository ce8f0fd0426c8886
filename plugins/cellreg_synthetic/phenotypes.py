"""Synthetic phenotypes from a planted mechanism in which interactions live between graph-close genes.

1. Each gene gets a latent position ``z``: Gaussian noise smoothed over the union of all relations
   (``hops`` rounds of ``z <- (z + P z) / 2``, P the row-normalised adjacency), then unit-normalised.
   Genes that are close in the graphs end up with similar ``z``.
2. Single-mutant fitness ``f_i = 1 - 0.5 * sigmoid(a * u.z_i - 2)``: a smooth function of position.
3. Closeness ``k_ij = relu(z_i.z_j - threshold) / (1 - threshold)``: zero for most pairs.
   Digenic ``eps_ij = scale * k_ij * tanh(b * v.(z_i + z_j))``; trigenic
   ``tau_ijk = scale * cbrt(k_ij k_ik k_jk) * tanh(b * w.(z_i + z_j + z_k))``.
4. Fitness of a set is multiplicative plus its interactions (the standard genetic-interaction
   model); labels ``fitness`` and ``interaction`` (eps for pairs, tau for triples, NaN for singles),
   each with Gaussian noise.

A model that reads the graphs can infer a held-out gene's ``z`` from its neighbours; one that
learns a free vector per gene cannot, which is what a gene-held-out split measures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cellreg import Context, PhenotypeSource
from cellreg.data.environment import Environment
from cellreg.data.phenotypes import PhenotypeTable
from cellreg_synthetic.configs import SyntheticPhenotypesConfig
from cellreg_synthetic.environments import grow

if TYPE_CHECKING:
    from cellreg import CellGraph

LABELS = ("fitness", "interaction")


def union_adjacency(graph: CellGraph) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency of all gene-gene relations together."""
    n = graph.num_genes
    parts = [r.message_index().numpy() for r in graph.relations.values()]
    ei = np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), np.int64)
    a = sp.csr_matrix((np.ones(ei.shape[1], np.float32), (ei[0], ei[1])), shape=(n, n))
    a = ((a + a.T) > 0).astype(np.float32)
    return a.tocsr()


def latent_positions(adj: sp.csr_matrix, dim: int, hops: int, rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal((adj.shape[0], dim))
    deg = np.asarray(adj.sum(1)).ravel()
    p = sp.diags(1.0 / np.maximum(deg, 1)) @ adj
    for _ in range(hops):
        z = 0.5 * z + 0.5 * (p @ z)
    z -= z.mean(0)
    return z / np.linalg.norm(z, axis=1, keepdims=True).clip(1e-12)


def _closeness(z: np.ndarray, a: np.ndarray, b: np.ndarray, threshold: float) -> np.ndarray:
    return np.maximum(np.einsum("nd,nd->n", z[a], z[b]) - threshold, 0.0) / (1.0 - threshold)


def _draw(adj: sp.csr_matrix, size: int, m: int, local: bool, rng: np.random.Generator) -> np.ndarray:
    """``m`` candidate sets: uniform genes, or grown from a degree-weighted gene by its neighbours."""
    n = adj.shape[0]
    deg = np.diff(adj.indptr)
    if not local or deg.sum() == 0:
        return rng.integers(0, n, size=(m, size))
    first = rng.choice(n, size=m, p=deg / deg.sum())
    cols = [first]
    for _ in range(size - 1):
        pick = adj.indptr[first] + (rng.random(m) * deg[first]).astype(np.int64)
        cols.append(adj.indices[pick])
    return np.stack(cols, 1)


def _sets(adj: sp.csr_matrix, size: int, count: int, local_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` distinct sets of ``size`` distinct genes; ``local_fraction`` of them grown along edges."""
    want = {True: int(round(count * local_fraction)), False: count - int(round(count * local_fraction))}
    seen = np.zeros((0, size), np.int64)
    out = []
    for local, target in want.items():
        got = np.zeros((0, size), np.int64)
        for _ in range(10):
            if len(got) >= target:
                break
            cand = np.sort(_draw(adj, size, 2 * (target - len(got)) + 16, local, rng), axis=1)
            cand = cand[np.all(np.diff(cand, axis=1) != 0, axis=1)]
            pool = np.concatenate([seen, got, cand])
            _, first = np.unique(pool, axis=0, return_index=True)
            fresh = np.sort(first[first >= len(seen) + len(got)]) - len(seen) - len(got)
            got = np.concatenate([got, cand[fresh]])[:target]
        seen = np.concatenate([seen, got])
        out.append(got)
    return np.concatenate(out)


def screen(adj: sp.csr_matrix, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` genes as a screen picks them, a few processes at a time: breadth-first from
    degree-weighted seed genes along the graph (a new seed whenever the frontier runs dry)."""
    n, deg = adj.shape[0], np.diff(adj.indptr)
    chosen, picked, frontier = np.zeros(n, bool), [], []
    while len(picked) < min(count, n):
        if not frontier:
            free = np.flatnonzero(~chosen)
            weight = deg[free] + 1.0
            frontier = [int(rng.choice(free, p=weight / weight.sum()))]
        gene = frontier.pop(int(rng.integers(len(frontier))))
        if chosen[gene]:
            continue
        chosen[gene] = True
        picked.append(gene)
        frontier.extend(int(g) for g in adj.indices[adj.indptr[gene]:adj.indptr[gene + 1]] if not chosen[g])
    return np.sort(np.asarray(picked, np.int64))


def simulate(graph: CellGraph, config: SyntheticPhenotypesConfig, seed: int) -> PhenotypeTable:
    config = config.resolved()
    rng = np.random.default_rng([seed, 0x5E7])
    adj = union_adjacency(graph)
    n, q = graph.num_genes, config.latent_dim
    z = latent_positions(adj, q, config.hops, rng)
    pool = screen(adj, config.screen_genes, rng) if config.screen_genes else np.arange(n)
    pool_adj = adj[pool][:, pool].tocsr() if config.screen_genes else adj  # sets are drawn among the screen's genes
    u, v, w = (d / np.linalg.norm(d) for d in rng.standard_normal((3, q)))
    gain = np.sqrt(q)
    fitness = 1.0 - 0.5 / (1.0 + np.exp(-(2 * gain * (z @ u) - 2)))
    threshold, scale = config.threshold, config.interaction_scale

    propensity = config.gene_effect * rng.standard_normal(n) if config.gene_effect else np.zeros(n)

    def eps(a, b):
        return scale * _closeness(z, a, b, threshold) * np.tanh(gain * ((z[a] + z[b]) @ v)) + propensity[a] \
            + propensity[b]

    blocks = []  # (sets [S, k], fitness [S], interaction [S])
    if config.singles:
        genes = pool[:, None]
        blocks.append((genes, fitness[pool], np.full(len(pool), np.nan)))
    if config.doubles:
        s = pool[_sets(pool_adj, 2, config.doubles, config.local_fraction, rng)]
        e = eps(s[:, 0], s[:, 1])
        blocks.append((s, fitness[s[:, 0]] * fitness[s[:, 1]] + e, e))
    if config.triples:
        s = pool[_sets(pool_adj, 3, config.triples, config.local_fraction, rng)]
        i, j, k = s.T
        close = np.cbrt(_closeness(z, i, j, threshold) * _closeness(z, i, k, threshold) * _closeness(z, j, k, threshold))
        tau = scale * close * np.tanh(gain * ((z[i] + z[j] + z[k]) @ w))
        fit = fitness[i] * fitness[j] * fitness[k] + eps(i, j) * fitness[k] + eps(i, k) * fitness[j] \
            + eps(j, k) * fitness[i] + tau
        blocks.append((s, fit, tau))

    sizes = np.concatenate([np.full(len(b[0]), b[0].shape[1]) for b in blocks])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    genes = np.concatenate([b[0].ravel() for b in blocks]).astype(np.int32)
    labels = np.stack([np.concatenate([b[1] for b in blocks]), np.concatenate([b[2] for b in blocks])], 1)
    environment = Environment()
    if config.environment is not None:  # its own stream: the strains and labels above stay as they were
        offsets, genes, labels, environment = grow(offsets, genes, labels, z, config.environment,
                                                   np.random.default_rng([seed, 0xE4]))
    labels = labels + config.noise * rng.standard_normal(labels.shape)  # NaN stays NaN
    return PhenotypeTable(offsets, genes, np.zeros(len(genes), np.int8), labels.astype(np.float32),
                          LABELS, graph.genes, environment=environment)


class SyntheticPhenotypes(PhenotypeSource):
    """PhenotypeSource for the planted mechanism; works on any CellGraph, synthetic or real."""

    def __init__(self, config: SyntheticPhenotypesConfig, context: Context) -> None:
        self.config = config
        self.seed = context.seed if config.seed is None else config.seed

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return simulate(graph, self.config, self.seed)

    def label_names(self) -> list[str]:
        return list(LABELS)

    def environment_kinds(self) -> dict[str, str]:
        return {"temperature": "numeric", "inhibitor": "dose"} if self.config.environment is not None else {}
