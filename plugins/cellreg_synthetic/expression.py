"""Synthetic expression profiles from a planted mechanism: what a deletion does to every gene's
transcript, as a log ratio against the wild type (the deleteome's form: the change is native).

For a deleted gene i, the change of gene f is the sum of
1. **regulation**: if i regulates f (an out-edge of ``relation``), a fixed effect w_if ~ N(0, sd²);
2. **pathways**: ``programs`` pathways, each a smooth region of the graph (a gene's loading
   relu(z_f·c_p − 0.3) with z the graph-smoothed latent positions of the fitness mechanism); a
   deletion activates each pathway by tanh(√q z_i·d_p), and the pathway's genes move together;
3. **itself**: the deleted gene's own transcript falls by ``self_effect``.

A set's change is s·tanh(Σ_i Δ_i / s) (effects add, then saturate, so the additive baseline is
close but not exact), plus Gaussian noise. A model reading the graph can place a held-out gene
in it and so guess its pathways and targets; a free vector per gene cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from cellreg import Context, PhenotypeSource
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.profiles import as_profile, profile_labels
from cellreg_synthetic.expression_config import SyntheticExpressionConfig
from cellreg_synthetic.phenotypes import _sets, latent_positions, union_adjacency

if TYPE_CHECKING:
    from cellreg import CellGraph


def effects(graph: CellGraph, config: SyntheticExpressionConfig, rng: np.random.Generator) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """(regulation [N, F] sparse, pathway activation [N, P], pathway loadings [F, P])."""
    n = graph.num_genes
    f = config.features or n
    adj = union_adjacency(graph)
    z = latent_positions(adj, config.latent_dim, config.hops, rng)
    if config.relation in graph.relations:
        ei = graph.relations[config.relation].edge_index.numpy()
        keep = ei[1] < f
        src, dst = ei[0][keep], ei[1][keep]
    else:
        src = dst = np.zeros(0, np.int64)
    regulation = sp.csr_matrix((config.regulator_effect * rng.standard_normal(len(src)), (src, dst)), shape=(n, f))
    c, d = (m / np.linalg.norm(m, axis=1, keepdims=True) for m in rng.standard_normal((2, config.programs,
                                                                                     config.latent_dim)))
    loading = np.maximum(z[:f] @ c.T - 0.3, 0.0) / 0.7  # [F, P]
    activation = config.program_effect * np.tanh(np.sqrt(config.latent_dim) * (z @ d.T))  # [N, P]
    return regulation, activation, loading


def simulate_expression(graph: CellGraph, config: SyntheticExpressionConfig, seed: int) -> PhenotypeTable:
    rng = np.random.default_rng([seed, 0xE4])
    n = graph.num_genes
    f = config.features or n
    regulation, activation, loading = effects(graph, config, rng)
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
    change += (members @ activation).astype(np.float32) @ loading.T.astype(np.float32)
    own = members[:, :f].tocoo()
    change[own.row, own.col] -= config.self_effect  # a set's genes are distinct: no repeated index
    change /= config.saturation
    np.tanh(change, out=change)
    change *= config.saturation
    change += config.noise * rng.standard_normal(change.shape, dtype=np.float32)
    features = graph.genes[:f]
    table = PhenotypeTable(offsets, genes.astype(np.int32), np.zeros(len(genes), np.int8), change,
                           profile_labels(config.group, features), graph.genes)
    return as_profile(table, config.group, "log ratio")


class SyntheticExpression(PhenotypeSource):
    """PhenotypeSource for the planted expression mechanism; works on any CellGraph."""

    def __init__(self, config: SyntheticExpressionConfig, context: Context) -> None:
        self.config = config
        self.seed = context.seed if config.seed is None else config.seed

    def load(self, graph: CellGraph) -> PhenotypeTable:
        return simulate_expression(graph, self.config, self.seed)
