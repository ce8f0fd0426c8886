"""Run plots stay bounded and readable for any number of labels (issue 23: a table of more than about
130 labels crashed the end of a run, in the predicted-vs-observed figure)."""

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from cellreg.data.label_groups import LabelGroup, complete_groups, scalar_groups
from cellreg.training import plots
from cellreg.training.metrics import column_pearson

AGG_OLD_LIMIT = 2 ** 16  # pixels per side older matplotlib's Agg refuses (and far past readable)


def synthetic(labels: int, strains: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(strains, labels))
    pred = obs + rng.normal(size=(strains, labels))
    obs[rng.random(obs.shape) < 0.1] = np.nan
    return pred, obs, [f"condition_{j}" for j in range(labels)]


@pytest.mark.parametrize("groups_of", [scalar_groups, lambda names: complete_groups(
    [LabelGroup("expression", names[20:], "profile", "log2 ratio")], names)])
def test_two_hundred_labels_plot_within_bounds(tmp_path, groups_of):
    pred, obs, names = synthetic(200)
    groups = complete_groups(groups_of(names), names)
    metrics = {g.name: {"pearson": 0.5} for g in groups}
    written = plots.predicted_vs_observed(pred, obs, names, groups, metrics, tmp_path)
    assert written == [plots.SCATTER, plots.SUMMARY]
    for name in written:
        width, height = Image.open(tmp_path / name).size
        assert width < 2000 and height < 2000 < AGG_OLD_LIMIT  # was 99,000 px wide at 200 labels


def test_a_few_labels_get_one_panel_each_and_no_summary(tmp_path):
    pred, obs, names = synthetic(3)
    written = plots.predicted_vs_observed(pred, obs, names, scalar_groups(names), {}, tmp_path)
    assert written == [plots.SCATTER]
    assert Image.open(tmp_path / plots.SCATTER).size == (int(4.2 * 3 * 110), int(3.9 * 110))


def test_column_pearson_matches_scipy_per_column_over_measured_rows():
    pred, obs, _ = synthetic(7, strains=40, seed=3)
    obs[:, 5] = np.nan
    obs[:39, 6] = np.nan  # one measured row: undefined
    expected = [stats.pearsonr(pred[~np.isnan(obs[:, j]), j], obs[~np.isnan(obs[:, j]), j])[0] for j in range(5)]
    got = column_pearson(pred, obs)
    np.testing.assert_allclose(got[:5], expected, rtol=1e-10)
    assert np.isnan(got[5:]).all()
