"""A synthetic organism's gene networks: heavy-tailed degrees and modular structure.

Each gene gets a hub weight (Pareto, shared in part across relations) and a module. Each relation
draws ``mean_degree * N / 2`` edges (``* N`` for directed ones): a source in proportion to hub
weight, a target in proportion to hub weight either inside the source's module (probability
``within_module``) or anywhere (a Chung-Lu graph with planted communities). Everything is
vectorised, so yeast scale (6,607 genes, 9 relations, ~2.4 M edges) builds in seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cellreg import Context, GraphSource
from cellreg_synthetic.configs import SyntheticGraphConfig

if TYPE_CHECKING:  # torch comes with the graph, when one is built
    from cellreg import CellGraph


# Mean degrees that reproduce the yeast networks' edge counts on 6,607 genes (design §6).


def modules_of(n: int, module_size: int, rng: np.random.Generator) -> np.ndarray:
    """Random module labels with roughly ``module_size`` genes each."""
    return rng.permutation(np.arange(n) % max(n // module_size, 1))


def _sample_edges(n_edges: int, hub: np.ndarray, module: np.ndarray, within: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    p = hub / hub.sum()
    src = rng.choice(len(hub), size=n_edges, p=p)
    dst = rng.choice(len(hub), size=n_edges, p=p)
    # Re-draw the in-module share of targets from the source's module, weighted by hub.
    order = np.argsort(module, kind="stable")
    cum = np.cumsum(hub[order])
    sorted_modules = module[order]
    start = np.searchsorted(sorted_modules, sorted_modules, side="left")  # first slot of each module
    end = np.searchsorted(sorted_modules, sorted_modules, side="right")
    slot_of = np.empty_like(order)
    slot_of[order] = np.arange(len(order))
    local = rng.random(n_edges) < within
    s = slot_of[src[local]]
    lo = np.where(start[s] > 0, cum[start[s] - 1], 0.0)
    hi = cum[end[s] - 1]
    u = lo + rng.random(len(s)) * (hi - lo)
    dst[local] = order[np.minimum(np.searchsorted(cum, u, side="right"), end[s] - 1)]
    return src, dst


def _relation(n_edges: int, hub: np.ndarray, module: np.ndarray, within: float, directed: bool,
              rng: np.random.Generator) -> np.ndarray:
    """Exactly ``n_edges`` distinct edges (no self-loops): sample, deduplicate, top up."""
    from cellreg.data.graph import canonical_edges  # torch: only once a graph is built

    have = np.zeros((2, 0), dtype=np.int64)
    for _ in range(20):
        missing = n_edges - have.shape[1]
        if missing <= 0:
            break
        src, dst = _sample_edges(int(missing * 1.2) + 16, hub, module, within, rng)
        have, _ = canonical_edges(np.concatenate([have[0], src]), np.concatenate([have[1], dst]), None, directed)
    keep = np.sort(rng.choice(have.shape[1], size=min(n_edges, have.shape[1]), replace=False))
    return have[:, keep]


def build_graph(config: SyntheticGraphConfig, seed: int) -> CellGraph:
    config = config.resolved()
    rng = np.random.default_rng([seed, 0x6A4F])
    n = config.genes
    module = modules_of(n, config.module_size, rng)
    shared = rng.pareto(config.degree_exponent - 1, n) + 1
    edges = []
    for name, degree in config.relations.items():
        directed = name in config.directed
        hub = np.sqrt(shared * (rng.pareto(config.degree_exponent - 1, n) + 1))
        n_edges = int(round(degree * n / (1 if directed else 2)))
        # A module of m genes holds at most m - 1 neighbours per gene: cap the in-module share.
        within = min(config.within_module, 0.5 * config.module_size / degree)
        ei = _relation(n_edges, hub, module, within, directed, rng)
        edges.append((name, ei[0], ei[1], None, directed))
    genes = [f"G{i:05d}" for i in range(n)]
    from cellreg.data.graph import CellGraph

    extra = None
    if config.hierarchy is not None:  # its own random stream: the arrays above are the same without it
        from cellreg_synthetic.hierarchy import planted_hierarchy

        extra = planted_hierarchy(module, config.hierarchy, seed).to_extra()
    return CellGraph.from_edges(genes, edges, extra=extra)


class SyntheticGraph(GraphSource):
    """GraphSource for the synthetic organism; deterministic for a seed."""

    def __init__(self, config: SyntheticGraphConfig, context: Context) -> None:
        self.config = config
        self.seed = context.seed if config.seed is None else config.seed

    def load(self) -> CellGraph:
        return build_graph(self.config, self.seed)
