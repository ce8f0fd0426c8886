"""Every number of a run comes from one place, per label group: the scorer of the group's kind."""

import math

import numpy as np
import pytest

from cellreg.config import ConfigError
from cellreg.config.schema import Metric
from cellreg.data.label_groups import GroupKind, LabelGroup, complete_groups, scalar_groups
from cellreg.training import group_metrics as gm
from cellreg.training.metrics import regression_metrics

NAMES = ["fitness", "growth_26", "growth_30"]
GROUPS = complete_groups([LabelGroup("growth", ["growth_26", "growth_30"], unit="OD")], NAMES)


def data(seed=0, n=80):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 3))
    pred = obs + rng.normal(size=(n, 3))
    obs[rng.random(obs.shape) < 0.2] = np.nan
    return pred, obs


def test_a_one_label_group_scores_exactly_as_its_label():
    pred, obs = data()
    got = gm.score_groups(pred, obs, NAMES, scalar_groups(NAMES))
    assert list(got) == NAMES
    for j, name in enumerate(NAMES):
        assert got[name] == regression_metrics(pred[:, j], obs[:, j])


def test_a_group_of_several_scalars_reports_each_and_their_mean():
    pred, obs = data(1)
    got = gm.score_groups(pred, obs, NAMES, GROUPS)["growth"]
    each = [regression_metrics(pred[:, j], obs[:, j]) for j in (1, 2)]
    assert got["labels"] == {"growth_26": each[0], "growth_30": each[1]}
    assert got["pearson"] == pytest.approx((each[0]["pearson"] + each[1]["pearson"]) / 2)
    assert got["n"] == each[0]["n"] + each[1]["n"]


def test_intervals_are_merged_per_group_and_per_label_inside_one():
    pred, obs = data(2)
    metrics = gm.score_groups(pred, obs, NAMES, GROUPS)
    gm.add_intervals(metrics, pred, obs, NAMES, GROUPS, seed=0)
    lo, hi = metrics["fitness"]["ci95"]["pearson"]
    assert lo < metrics["fitness"]["pearson"] < hi
    assert set(metrics["growth"]["labels"]["growth_30"]) >= {"pearson", "ci95", "ci95_resamples"}


@pytest.mark.parametrize("select, canonical", [
    ("val.loss", "val.loss"), ("val.growth.r2", "val.growth.r2"), ("val.fitness.pearson", "val.fitness.pearson"),
])
def test_select_resolves_to_a_group(select, canonical):
    assert gm.resolve_select(select, GROUPS) == canonical


def test_the_old_label_spelling_names_the_group_of_that_one_label():
    groups = complete_groups([LabelGroup("growth", ["fitness"])], ["fitness"])
    assert gm.resolve_select("val.fitness.spearman", groups) == "val.growth.spearman"
    assert gm.higher_is_better("val.fitness.spearman", groups) and not gm.higher_is_better("val.growth.rmse", groups)
    assert not gm.higher_is_better("val.loss", groups)


@pytest.mark.parametrize("select, message", [
    ("val.growth_26.pearson", "no label group 'growth_26'"),  # one label of a larger group
    ("val.growht.pearson", "did you mean 'growth'?"),
])
def test_select_of_no_group_is_a_config_error_naming_the_choices(select, message):
    with pytest.raises(ConfigError, match=message) as info:
        gm.resolve_select(select, GROUPS, "run.toml")
    assert info.value.source == "run.toml" and "groups are: fitness, growth" in str(info.value)


def test_selected_value_reads_the_canonical_path():
    entry = {"val": {"growth": {"pearson": 0.25, "labels": {}}, "loss": 1.5}}
    assert gm.selected_value(entry, "val.growth.pearson") == 0.25
    assert gm.selected_value(entry, "val.loss") == 1.5
    assert math.isnan(gm.selected_value({"val": {"growth": {"pearson": None}}}, "val.growth.pearson"))


def test_a_new_kind_plugs_in_by_registering_its_scorer():
    class Fraction(gm.GroupScorer):
        kind = GroupKind.PROFILE
        metrics = {"r2": True}

        def score(self, pred, obs, group):
            return {"r2": float(np.mean(pred)), "n": len(group.labels)}

    saved = dict(gm._BUILT)
    try:
        gm.register_scorer(Fraction())
        groups = complete_groups([LabelGroup("expr", ["growth_26", "growth_30"], "profile")], NAMES)
        pred = np.ones((4, 3))
        assert gm.score_groups(pred, pred, NAMES, groups)["expr"] == {"r2": 1.0, "n": 2}
        with pytest.raises(ConfigError, match="'expr' is a profile group, which has no metric 'pearson'; choose one of: r2"):
            gm.resolve_select("val.expr.pearson", groups)
    finally:
        gm._BUILT.clear()
        gm._BUILT.update(saved)


def test_every_scorers_metrics_can_be_selected_in_a_config():
    for kind in GroupKind:
        assert set(gm.scorer_for(kind).metrics) <= set(Metric.__args__), kind


def test_trackers_get_each_groups_own_numbers_not_one_series_per_label():
    from cellreg.training.trackers import epoch_values

    pred, obs = data(4)
    entry = {"epoch": 3, "train_loss": 0.5, "val": {**gm.score_groups(pred, obs, NAMES, GROUPS), "loss": 0.7}}
    values = epoch_values(entry)
    assert values["val/growth/pearson"] == entry["val"]["growth"]["pearson"]
    assert values["val/fitness/r2"] == entry["val"]["fitness"]["r2"] and values["val/loss"] == 0.7
    assert not any("growth_26" in k for k in values) and not any(k.endswith("/n") for k in values)


def test_a_screen_objective_may_name_a_label_group_its_labels_share_the_weight():
    from cellreg.screen.objective import objective_weights, parse_objectives

    weights = objective_weights(parse_objectives(["growth:max:2", "fitness:min"]), NAMES, "run", GROUPS)
    assert weights.tolist() == [-1.0, 1.0, 1.0]  # 2 x the mean of growth_26 and growth_30
    with pytest.raises(ConfigError, match="no label or label group 'grwth'; did you mean 'growth'"):
        objective_weights(parse_objectives(["grwth:max"]), NAMES, "run", GROUPS)
