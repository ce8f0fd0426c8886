"""A profile end to end: trained with the per-gene head, reported with its baselines under their
names, and screened by one feature's value and by the distance to a target profile."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
import tomli_w

from cellreg.config import ConfigError
from cellreg.data.profiles import read_target
from cellreg.screen.objective import RunObjective, parse_objectives, run_objective

TINY = {
    "name": "tiny_expression", "seed": 0,
    "graph": {"name": "synthetic", "genes": 60},
    "phenotypes": {"name": "synthetic_expression", "doubles": 60},
    "split": {"kind": "random", "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"encoder": {"name": "transformer", "dim": 8, "layers": 1, "heads": 4},
              "head": {"name": "per_gene", "rank": 4, "hidden": 16}},
    "loss": [{"name": "profile", "direction": 0.1}],
    "train": {"epochs": 2, "batch_size": 32, "progress": False, "select": "val.expression.pearson_delta_top20"},
}
LABELS = ("fitness", "expression:G1", "expression:G2", "expression:G3")


def test_objectives_parse_feature_labels_and_distance_terms():
    terms = parse_objectives(["expression:G3:min", "expression:G2:max:2", "fitness:max",
                              "expression:distance=t.tsv", "expression:distance=dir/t.tsv:3"])
    assert [(t.label, t.sign, t.weight, t.target) for t in terms] == [
        ("expression:G3", -1.0, 1.0, None), ("expression:G2", 1.0, 2.0, None), ("fitness", 1.0, 1.0, None),
        ("expression", -1.0, 1.0, "t.tsv"), ("expression", -1.0, 3.0, "dir/t.tsv")]
    for bad in ("expression", "expression:G3:up", "expression:distance=", "expression:distance=t.tsv:x"):
        with pytest.raises(ConfigError):
            parse_objectives([bad])


def test_distance_objective_by_hand(tmp_path):
    (tmp_path / "t.tsv").write_text("feature\tvalue\n# wanted\nG3 -1.0\nG1 0.5\n")
    objective = run_objective(parse_objectives([f"expression:distance={tmp_path / 't.tsv'}:2", "fitness:max"]),
                              LABELS, "run")
    values = torch.tensor([[0.3, 1.5, 9.0, 1.0], [0.0, 0.5, 0.0, -1.0]])
    # strain 1: fitness 0.3 - 2 * sqrt(((1 + 1)^2 + (1.5 - 0.5)^2) / 2); strain 2 on target: 0
    torch.testing.assert_close(objective(values), torch.tensor([0.3 - 2 * float(np.sqrt(2.5)), 0.0]))
    assert isinstance(objective, RunObjective)


def test_target_file_errors(tmp_path):
    (tmp_path / "a.tsv").write_text("G1 0.5\nG9 1\n")
    with pytest.raises(ValueError, match=r"a\.tsv: line 2: 'expression' has no feature 'G9'"):
        read_target(str(tmp_path / "a.tsv"), "expression", LABELS)
    (tmp_path / "b.tsv").write_text("G1 0.5\nG1 1\n")
    with pytest.raises(ValueError, match=r"b\.tsv: feature 'G1' is given more than once"):
        read_target(str(tmp_path / "b.tsv"), "expression", LABELS)
    (tmp_path / "c.tsv").write_text("G1 0.5\nG2 high\n")
    with pytest.raises(ValueError, match=r"c\.tsv: line 2: the value 'high' is not a number"):
        read_target(str(tmp_path / "c.tsv"), "expression", LABELS)
    with pytest.raises(ValueError, match=r"no profile 'morphology'; its profiles: expression"):
        read_target(str(tmp_path / "c.tsv"), "morphology", LABELS)


def test_profile_run_reports_baselines_and_screens_by_profile(tmp_path):
    from cellreg.commands.screen import screen
    from cellreg.training.trainer import run

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    report = run(config, tmp_path / "run")
    test = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["expression"]
    assert report["select"] == "val.expression.pearson_delta_top20"
    for name in ("no_change", "training_mean", "additive", "combinations"):
        assert set(test[name]) >= {"pearson_delta", "pearson_delta_top20", "mse_top20", "direction_top20",
                                   "cosine_delta", "n_strains"}
    assert test["no_change"]["direction_top20"] == 0.0  # a predicted 0 never has the observed sign
    assert test["additive"]["n_strains"] > 0  # a random split keeps singles of test pairs in training

    (tmp_path / "target.tsv").write_text("G00001 -1.0\nG00002 0.5\n")
    out = tmp_path / "screen.tsv"
    screen([tmp_path / "run"], out, objectives=["expression:G00003:min", f"expression:distance={tmp_path / 'target.tsv'}:2"],
           genes=["G00001", "G00002", "G00003", "G00004"], sizes=[1, 2], progress=False)
    rows = list(csv.DictReader(open(out), delimiter="\t"))
    assert len(rows) == 10
    for r in rows:
        p = {g: float(r[f"run.expression:{g}"]) for g in ("G00001", "G00002", "G00003")}
        expected = -p["G00003"] - 2 * np.sqrt(((p["G00001"] + 1) ** 2 + (p["G00002"] - 0.5) ** 2) / 2)
        assert float(r["objective_mean"]) == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)


def test_inspect_prints_a_profile_as_one_line(tmp_path):
    from cellreg.commands.inspect import inspect

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    text = inspect(config)
    lines = [ln for ln in text.splitlines() if ln.startswith("  expression")]
    assert len(lines) == 1 and "profile of 60 features" in lines[0] and "7,200 of 7,200" in lines[0]
