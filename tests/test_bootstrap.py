"""The chunked bootstrap: the same intervals as resampling every row at once (an independent
reference written here with scipy), in any chunk size, with ties, and bounded in draws."""

import numpy as np
import pytest
from scipy import stats

from cellreg.training.bootstrap import MIN_RESAMPLES, bootstrap_intervals, resamples_for


def _reference(pred, obs, n_boot, seed):
    """All resamples at once, each metric computed by scipy on the resampled rows."""
    keep = ~np.isnan(obs)
    p, o = pred[keep], obs[keep]
    idx = np.random.default_rng(seed).integers(0, len(o), size=(n_boot, len(o)))
    values = {"pearson": [], "spearman": [], "mse": [], "r2": []}
    for i in idx:
        mse = np.mean((p[i] - o[i]) ** 2)
        values["pearson"].append(stats.pearsonr(p[i], o[i])[0])
        values["spearman"].append(stats.spearmanr(p[i], o[i])[0])
        values["mse"].append(mse)
        values["r2"].append(1 - mse / np.var(o[i]))
    return {m: list(np.percentile(v, [2.5, 97.5])) for m, v in values.items()}


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("cells", [97, 1 << 22])  # one resample per chunk (some split mid-way), or all at once
def test_chunked_intervals_equal_resampling_all_rows_at_once(ties, cells):
    rng = np.random.default_rng(0)
    obs = rng.normal(size=120) + 3.0  # off zero: centring must not change the MSE
    pred = obs + rng.normal(size=120)
    if ties:
        obs, pred = np.round(obs, 0), np.round(pred, 0)
    obs[::9] = np.nan
    got = bootstrap_intervals(pred, obs, n_boot=150, seed=5, cells=cells)
    for metric, (lo, hi) in _reference(pred, obs, 150, 5).items():
        assert got[metric] == pytest.approx([lo, hi], rel=1e-9, abs=1e-12), metric


def test_a_constant_prediction_has_no_correlation_interval():
    ci = bootstrap_intervals(np.ones(6), np.arange(6.0), n_boot=50)
    assert np.isnan(ci["pearson"]).all() and np.isnan(ci["spearman"]).all()
    assert ci["mse"][0] > 0


def test_resamples_are_bounded_by_the_draws_not_the_rows():
    assert resamples_for(1_000) == 1000
    assert resamples_for(2_000_000) == MIN_RESAMPLES  # 2e8 draws / 2 M rows
    assert resamples_for(500_000, max_draws=10**8) == 200
    assert resamples_for(10**9) == MIN_RESAMPLES


def test_memory_is_bounded_by_the_chunk_not_by_resamples_times_rows():
    import tracemalloc

    rng = np.random.default_rng(1)
    obs = rng.normal(size=20_000)
    pred = obs + rng.normal(size=20_000)
    tracemalloc.start()
    bootstrap_intervals(pred, obs, n_boot=200, cells=1 << 16)  # all at once: 200 x 20,000 x 8 B = 32 MB per array
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 12 << 20, f"{peak / 2**20:.1f} MB"
