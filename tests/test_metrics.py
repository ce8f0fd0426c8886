import math

import numpy as np
import pytest
import torch
from scipy import stats

from cellreg.training.metrics import bootstrap_intervals, regression_metrics, spread


def test_metrics_against_scipy_and_by_hand():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=200)
    pred = obs + rng.normal(scale=0.5, size=200)
    obs[::10] = np.nan
    m = regression_metrics(pred, obs)
    keep = ~np.isnan(obs)
    assert m["n"] == keep.sum()
    assert m["pearson"] == pytest.approx(stats.pearsonr(pred[keep], obs[keep])[0])
    assert m["spearman"] == pytest.approx(stats.spearmanr(pred[keep], obs[keep])[0])
    mse = np.mean((pred[keep] - obs[keep]) ** 2)
    assert m["mse"] == pytest.approx(mse) and m["rmse"] == pytest.approx(math.sqrt(mse))
    assert m["r2"] == pytest.approx(1 - mse / np.var(obs[keep]))
    assert math.isnan(regression_metrics(np.ones(5), np.arange(5.0))["pearson"])


def test_bootstrap_interval_covers_the_estimate_and_matches_a_loop():
    rng = np.random.default_rng(1)
    obs = rng.normal(size=300)
    pred = obs + rng.normal(size=300)
    ci = bootstrap_intervals(pred, obs, n_boot=400, seed=3)
    point = regression_metrics(pred, obs)
    for metric in ("pearson", "spearman", "mse", "r2"):
        lo, hi = ci[metric]
        assert lo < point[metric] < hi
    # Independent reference: the same resamples, metric by metric with scipy.
    idx = np.random.default_rng(3).integers(0, 300, size=(400, 300))
    loop = [stats.spearmanr(pred[i], obs[i])[0] for i in idx]
    assert ci["spearman"] == pytest.approx(list(np.percentile(loop, [2.5, 97.5])), rel=1e-9)


def test_spread_falls_to_zero_when_embeddings_collapse():
    x = torch.randn(100, 8)
    assert spread(x) > 1.0
    assert spread(x.mean(0, keepdim=True).expand(100, 8) + 1e-6 * torch.randn(100, 8)) < 1e-3
