"""Synthetic expression profiles from a planted mechanism: what a deletion does to every gene's
transcript, as a log ratio against the wild type (the deleteome's form: the change is native).

For a deleted gene i, the change of gene f is the sum of
1. **regulation**: if i regulates f (an out-edge of ``relation``), ``regulator_effect`` times the
   regulator's sign (activator or repressor: sign(z_i·e), so it is smooth over the graph);
2. **pathways**: ``programs`` pathways, each a smooth region of the graph (a gene's membership
   m_ip = relu(z_i·c_p − 0.2) / 0.8, z the graph-smoothed latent positions of the fitness
   mechanism); deleting i moves every gene f of i's pathways together, by
   Σ_p ``program_effect`` · s_p · m_ip · m_fp (s_p = ±1, the pathway's direction);
3. **itself**: the deleted gene's own transcript falls by ``self_effect``.

A set's change is s·tanh(Σ_i Δ_i / s) (effects add, then saturate, so the additive baseline is
close but not exact), plus Gaussian noise of sd ``noise``. A model reading the graph can place a
held-out gene in it and so guess its pathways and targets; a free vector per gene cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cellreg import Context, PhenotypeSource
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.profiles import profile_group, profile_labels
from cellreg_synthetic.expression_config import SyntheticExpressionConfig
from cellreg_synthetic.phenotypes import _sets, latent_positions, union_adjacency

if TYPE_CHECKING:
    from cellreg import CellGraph


def effects(graph: CellGraph, config: SyntheticExpressionConfig,
            rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(regulation [N, F] sparse, what a deletion does to each pathway [N, P], membership [F, P])."""
    n = graph.num_genes
    f = min(config.features, n) if config.features else n  # the first genes are measured
    z = latent_positions(union_adjacency(graph), config.latent_dim, config.hops, rng)
    c = rng.standard_normal((config.programs, config.latent_dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    e = rng.standard_normal(config.latent_dim)
    direction = rng.choice([-1.0, 1.0], config.programs)
    if config.relation in graph.relations:
        ei = graph.relations[config.relation].edge_index.numpy()
        src, dst = ei[0][ei[1] < f], ei[1][ei[1] < f]
    else:
        src = dst = np.zeros(0, np.int64)
    sign = np.where(z @ e >= 0, 1.0, -1.0)  # activator or repressor
    regulation = sp.csr_matrix((config.regulator_effect * sign[src], (src, dst)), shape=(n, f))
    membership = np.maximum(z @ c.T - 0.2, 0.0) / 0.8  # [N, P]
    return regulation, config.program_effect * direction * membership, membership[:f]


def simulate_expression(graph: CellGraph, config: SyntheticExpressionConfig, seed: int) -> PhenotypeTable:
    rng = np.random.default_rng([seed, 0xE4])
    n = graph.num_genes
    f = min(config.features, n) if config.features else n  # the first genes are measured
    regulation, pathways, membership = effects(graph, config, rng)
    blocks = []
    if config.singles:
        blocks.append(np.arange(n)[:, None])
    if config.doubles:
        blocks.append(_sets(union_adjacency(graph), 2, config.doubles, 0.5, rng))
    sizes = np.concatenate([np.full(len(b), b.shape[1]) for b in blocks])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    genes = np.concatenate([b.ravel() for b in blocks]).astype(np.int64)
    strain = np.repeat(np.arange(len(sizes)), sizes)
    members = sp.csr_matrix((np.ones(len(genes)), (strain, genes)), shape=(len(sizes), n))  # [S, N]
    # float32 and in place: a 10,000 x 6,000 profile is 240 MB, and this stays near two copies of it
    change = (members @ regulation).astype(np.float32).toarray()
    change += (members @ pathways).astype(np.float32) @ membership.T.astype(np.float32)
    own = members[:, :f].tocoo()
    change[own.row, own.col] -= config.self_effect  # a set's genes are distinct: no repeated index
    change /= config.saturation
    np.tanh(change, out=change)
    change *= config.saturation
    change += config.noise * rng.standard_normal(change.shape, dtype=np.float32)
    features = graph.genes[:f]
    labels = profile_labels(config.group, features)
    return PhenotypeTable(offsets, genes.astype(np.int32), np.zeros(len(genes), np.int8), change, labels, graph.genes,
                          label_groups=(profile_group(config.group, labels, "log ratio"),))


class SyntheticExpression(PhenotypeSource):
    """PhenotypeSource for the planted expression mechanism; works on any CellGraph."""

    def __init__(self, config: SyntheticExpressionConfig, context: Context) -> None:
        self.config = config
        self.seed = context.seed if config.seed is None else config.seed

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return simulate_expression(graph, self.config, self.seed)
