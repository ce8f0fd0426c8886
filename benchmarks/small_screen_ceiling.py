"""What the small screen (docs/results.md, "Small screens") allows: ceilings and probe models on the
same rows and split as ``benchmarks/small_screen.py``, to tell a weak model from a regime in which the
data cannot say more.

Per seed, test Pearson of the noisy interaction labels against:

* ``noise ceiling``: the noise-free labels themselves (the same draw with ``noise = 0``);
* ``additive part``: the best additive fit r_i + r_j of the noise-free labels (least squares over all
  rows): what a perfect additive model could reach;
* ``oracle z``: an MLP on the planted latent positions (z_i + z_j, z_i·z_j) plus per-gene biases,
  trained on the train rows and selected on validation: what knowing the mechanism's inputs gives;
* ``graph-smoothed embeddings``: free 16-d vectors over all genes smoothed over the graphs exactly as
  the generator smooths its noise (3 rounds of x <- (x + P x) / 2), with weight decay: the Gaussian
  prior the positions were drawn from, so the best a graph-reading model of this size can do by
  learning positions.

    python benchmarks/small_screen_ceiling.py --seeds 0 1 2      # ~3 min, 1 thread
"""

from __future__ import annotations

import argparse
import statistics

import attrs
import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from cellreg.training.pipeline import Pipeline
from cellreg_synthetic.configs import SyntheticPhenotypesConfig
from cellreg_synthetic.phenotypes import latent_positions, simulate, union_adjacency

CONFIG = "examples/small_screen_baseline.toml"


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def additive_fit(pairs: np.ndarray, y: np.ndarray, genes: int) -> np.ndarray:
    """Least-squares r with y ≈ c + r_a + r_b."""
    rows = np.repeat(np.arange(len(pairs)), 2)
    x = sp.hstack([sp.csr_matrix((np.ones(rows.size), (rows, pairs.ravel())), shape=(len(pairs), genes)),
                   np.ones((len(pairs), 1))]).tocsr()
    coef = sp.linalg.lsqr(x, y, atol=1e-10, btol=1e-10)[0]
    return x @ coef


def fit(features, params, pairs: torch.Tensor, y: torch.Tensor, split, weight_decay: float) -> float:
    """Adam on the train rows, early-stopped on validation (patience 8); test Pearson at the best epoch."""
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=weight_decay)
    train, val, test = (torch.as_tensor(s) for s in (split.train, split.val, split.test))
    best, best_test, waited = -1.0, float("nan"), 0
    for _ in range(100):
        for b in train[torch.randperm(len(train))].split(128):
            loss = ((features(pairs[b]) - y[b]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            v, t = pearson(features(pairs[val]).numpy(), y[val].numpy()), pearson(features(pairs[test]).numpy(),
                                                                                   y[test].numpy())
        best, best_test, waited = (v, t, 0) if v > best else (best, best_test, waited + 1)
        if waited >= 8:
            break
    return best_test


class PairModel(nn.Module):
    """MLP([h_a + h_b, h_a·h_b]) + bias_a + bias_b, with h = positions(...)."""

    def __init__(self, positions, genes: int, dim: int) -> None:
        super().__init__()
        self.positions = positions
        self.bias = nn.Parameter(torch.zeros(genes))
        self.mlp = nn.Sequential(nn.Linear(dim + 1, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                                 nn.Linear(128, 1))

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        h = self.positions()
        a, b = h[pairs[:, 0]], h[pairs[:, 1]]
        x = torch.cat([a + b, (a * b).sum(1, keepdim=True)], 1)
        return self.mlp(x).squeeze(-1) + self.bias[pairs[:, 0]] + self.bias[pairs[:, 1]]


def probe(seed: int) -> dict[str, float]:
    pipeline = Pipeline.from_file(CONFIG, [f"seed={seed}"], write_cache=False)
    data, graph = pipeline.data, pipeline.data.graph
    config: SyntheticPhenotypesConfig = pipeline.config.phenotypes.config.resolved()
    clean = simulate(graph, attrs.evolve(config, noise=0.0), seed)
    assert np.array_equal(clean.genes, data.table.genes), "the noise-free draw must hold the same rows"
    names = list(data.table.label_names)
    y_noisy = data.table.labels[:, names.index("interaction")].astype(np.float64)
    y_clean = clean.labels[:, list(clean.label_names).index("interaction")].astype(np.float64)
    pairs = data.table.genes.reshape(-1, 2).astype(np.int64)
    test, n = data.split.test, graph.num_genes
    out = {"noise ceiling": pearson(y_clean[test], y_noisy[test]),
           "additive part": pearson(additive_fit(pairs, y_clean, n)[test], y_noisy[test])}

    torch.manual_seed(seed)
    adj = union_adjacency(graph)
    z = torch.as_tensor(latent_positions(adj, config.latent_dim, config.hops, np.random.default_rng([seed, 0x5E7])),
                        dtype=torch.float32)
    target = torch.as_tensor(data.targets[:, 0])
    t_pairs = torch.as_tensor(pairs)
    oracle = PairModel(lambda: z, n, z.shape[1])
    out["oracle z"] = fit(oracle, oracle.parameters(), t_pairs, target, data.split, 0.0)

    deg = np.asarray(adj.sum(1)).ravel()
    p = (sp.diags(1.0 / np.maximum(deg, 1)) @ adj).tocoo()
    walk = torch.sparse_coo_tensor(check_invariants=True, indices=np.stack([p.row, p.col]),
                                   values=p.data.astype(np.float32), size=p.shape).coalesce()
    free = nn.Parameter(torch.randn(n, 16) * 0.1)

    def smoothed() -> torch.Tensor:
        x = free
        for _ in range(config.hops):
            x = 0.5 * x + 0.5 * torch.sparse.mm(walk, x)
        return x

    model = PairModel(smoothed, n, 16)
    groups = [{"params": [free], "weight_decay": 1.0}, {"params": list(model.parameters()), "weight_decay": 0.0}]
    out["graph-smoothed embeddings"] = fit(model, groups, t_pairs, target, data.split, 0.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {s: probe(s) for s in args.seeds}
    rows = list(next(iter(results.values())))
    print("| probe | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean |")
    print("|---" * (len(args.seeds) + 2) + "|")
    for row in rows:
        values = [results[s][row] for s in args.seeds]
        print(f"| {row} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {statistics.mean(values):.3f} |")


if __name__ == "__main__":
    main()
