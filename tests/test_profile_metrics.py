"""Profile metrics and baselines against a fixture computed by hand (docs/profiles.md pins the
definitions); the vectorised code against a per-strain loop with scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cellreg.training.profile_metrics import baselines, per_strain, profile_metrics

NAN = np.nan
# strain 1: top 2 by |obs| = features 0 (2) and 1 (|-1|, tied with feature 3: the earlier wins)
# strain 2: feature 0 unmeasured; top 2 = features 1 and 2 (3, -3); its prediction is constant there
OBS = np.array([[2.0, -1.0, 0.0, 1.0], [NAN, 3.0, -3.0, 1.0]])
PRED = np.array([[1.0, -1.0, 1.0, 0.0], [5.0, 1.0, 1.0, 1.0]])


def test_every_metric_by_hand():
    m = profile_metrics(PRED, OBS, top=2)
    # strain 1, all features: deviations obs (1.5, -1.5, -0.5, 0.5), pred (0.75, -1.25, 0.75, -0.25):
    # 2.5 / sqrt(5 * 2.75); strain 2's prediction is constant on its measured features: undefined
    assert m["pearson_delta"] == pytest.approx(2.5 / math.sqrt(13.75)) and m["n_pearson_delta"] == 1
    # top 2: strain 1 (2, -1) vs (1, -1): 1; strain 2 (3, -3) vs (1, 1): undefined
    assert m["pearson_delta_top20"] == pytest.approx(1.0) and m["n_pearson_delta_top20"] == 1
    # strain 1: ((1 - 2)^2 + 0) / 2 = 0.5; strain 2: ((1 - 3)^2 + (1 + 3)^2) / 2 = 10
    assert m["mse_top20"] == pytest.approx((0.5 + 10.0) / 2)
    # strain 1: both signs right; strain 2: one of two
    assert m["direction_top20"] == pytest.approx((1.0 + 0.5) / 2)
    # strain 1: 3 / (sqrt 6 sqrt 3); strain 2 over features 1-3: (3 - 3 + 1) / (sqrt 19 sqrt 3)
    assert m["cosine_delta"] == pytest.approx((3 / math.sqrt(18) + 1 / math.sqrt(57)) / 2)
    assert m["n_strains"] == 2 and m["n_cosine_delta"] == 2


def test_vectorised_equals_a_loop_with_scipy():
    rng = np.random.default_rng(0)
    obs, pred = rng.standard_normal((30, 50)), rng.standard_normal((30, 50))
    obs[rng.random(obs.shape) < 0.1] = NAN
    got = per_strain(pred, obs, top=20)
    for s in range(30):
        keep = ~np.isnan(obs[s])
        p, o = pred[s, keep], obs[s, keep]
        assert got["pearson_delta"][s] == pytest.approx(stats.pearsonr(p, o)[0])
        assert got["cosine_delta"][s] == pytest.approx(p @ o / np.linalg.norm(p) / np.linalg.norm(o))
        top = np.argsort(-np.abs(o), kind="stable")[:20]
        assert got["pearson_delta_top20"][s] == pytest.approx(stats.pearsonr(p[top], o[top])[0])
        assert got["mse_top20"][s] == pytest.approx(np.mean((p[top] - o[top]) ** 2))
        assert got["direction_top20"][s] == pytest.approx(np.mean(np.sign(p[top]) == np.sign(o[top])))


def test_baselines_by_hand():
    # genes A=0, B=1, C=2; rows: A, B, A (a replicate), AB, AC, C
    offsets = np.array([0, 1, 2, 3, 5, 7, 8])
    genes = np.array([0, 1, 0, 0, 1, 0, 2, 2])
    kinds = np.zeros(8, np.int64)
    change = np.array([[1.0, 0.0, 2.0],
                       [0.0, 1.0, -1.0],
                       [3.0, 0.0, NAN],
                       [2.0, 2.0, 1.0],
                       [1.0, 1.0, 1.0],
                       [5.0, 5.0, 5.0]])
    train, rows = np.array([0, 1, 2]), np.array([3, 4, 5])  # C's single is not in training
    model = np.array([[2.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = baselines(change, offsets, genes, kinds, train, rows, model, top=2)
    obs = change[rows]
    assert out["no_change"]["mse_top20"] == pytest.approx(
        np.mean([(4 + 4) / 2, (1 + 1) / 2, (25 + 25) / 2]))  # top 2 of each row: ties -> the first two
    assert out["no_change"]["direction_top20"] == 0.0 and math.isnan(out["no_change"]["pearson_delta"])
    mean = np.array([4 / 3, 1 / 3, 0.5])  # the training rows' mean change, NaN left out
    assert out["training_mean"]["mse_top20"] == pytest.approx(
        np.mean([((mean[:2] - obs[r, :2]) ** 2).mean() for r in range(3)]))
    # additive: AB = A's mean single (2, 0, 2) + B (0, 1, -1) = (2, 1, 1); AC has no C single in training
    assert out["additive"]["n_strains"] == 1
    assert out["additive"]["cosine_delta"] == pytest.approx((4 + 2 + 1) / (3 * math.sqrt(6)))
    assert out["combinations"]["cosine_delta"] == pytest.approx(out["additive"]["cosine_delta"])


def test_blocks_of_strains_change_nothing(monkeypatch):
    import cellreg.training.profile_metrics as pm

    rng = np.random.default_rng(1)
    obs, pred = rng.standard_normal((30, 25)), rng.standard_normal((30, 25))
    obs[rng.random(obs.shape) < 0.2] = NAN
    whole = per_strain(pred, obs)
    monkeypatch.setattr(pm, "BLOCK", 7)
    blocked = per_strain(pred, obs)
    for name in whole:
        np.testing.assert_array_equal(blocked[name], whole[name])
    empty = profile_metrics(np.zeros((0, 25)), np.zeros((0, 25)))
    assert empty["n_strains"] == 0 and math.isnan(empty["pearson_delta"])
