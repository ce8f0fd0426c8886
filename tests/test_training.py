import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from cellreg.config import ConfigError
from cellreg.training.trainer import RunDir, run
from cellreg_losses.mse import MSELoss


def test_run_writes_an_honest_report(tiny_config, tmp_path):
    out = tmp_path / "run"
    report = run(tiny_config, out)
    d = RunDir(out)
    for path in (d.config, d.info, d.split, d.history, d.metrics, d.best, d.last,
                 d.plots / "learning_curves.png", d.plots / "test_predicted_vs_observed.png"):
        assert path.exists(), path
    history = [json.loads(line) for line in d.history.read_text().splitlines()]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    values = [h["val"]["interaction"]["pearson"] for h in history]
    best = int(np.nanargmax(values)) + 1
    assert report["selected_epoch"] == best  # selection on the configured validation metric
    assert report["val"] == history[best - 1]["val"]  # the reported val is the selected epoch's
    assert set(report["test"]) == {"fitness", "interaction", "loss"}  # test evaluated, once, in the final report
    assert all("test" not in h for h in history)
    split = d.read_split()
    assert report["test"]["fitness"]["n"] == len(split.test)
    assert json.loads(d.metrics.read_text()) == report
    assert report["strains_per_second"] > 0


def test_reported_metrics_are_in_raw_units(tiny_config, tmp_path):
    """The mean baseline must predict the training mean in raw label units: check against numpy."""
    out = tmp_path / "mean"
    report = run(tiny_config, out, ["model.encoder={name=\"none\"}", "model.head={name=\"mean\"}",
                                    "train.epochs=30", "train.lr=0.05", "train.select=\"val.loss\""])
    info = json.loads((out / "run.json").read_text())
    split = RunDir(out).read_split()
    from cellreg.plugin_api.run_config import load_config
    from cellreg.training.pipeline import Pipeline
    from cellreg.plugin_api.registry import default_registry

    data = Pipeline(load_config(out / "config.toml"), default_registry(), tiny_config.parent, split=split).data
    train_mean = np.nanmean(data.table.labels[split.train], 0)
    assert info["scaler"]["mean"] == pytest.approx(train_mean, rel=1e-4)
    test = data.table.labels[split.test]
    for j, label in enumerate(data.table.label_names):
        obs = test[~np.isnan(test[:, j]), j]
        expected_mse = np.mean((obs - train_mean[j]) ** 2)
        assert report["test"][label]["mse"] == pytest.approx(expected_mse, rel=0.02)
        assert report["test"][label]["pearson"] is None  # undefined for a constant prediction


def test_resume_after_a_crash_matches_an_uninterrupted_run(tiny_config, tmp_path):
    full = run(tiny_config, tmp_path / "full", ["train.epochs=4"])
    assert run(tiny_config, tmp_path / "crash", ["train.epochs=4"], stop_after_epoch=2) is None
    state = json.loads((tmp_path / "crash" / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2
    subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "run", "--resume", str(tmp_path / "crash")],
                   check=True, capture_output=True)  # a new process, as after a real crash
    resumed = json.loads((tmp_path / "crash" / "metrics.json").read_text())
    assert resumed["selected_epoch"] == full["selected_epoch"]
    for label in ("fitness", "interaction"):
        for metric in ("pearson", "spearman", "mse", "r2"):
            # A resume that replays the wrong batches or loses optimizer state is off by ~1e-2.
            assert resumed["test"][label][metric] == pytest.approx(full["test"][label][metric], rel=1e-6)
    history = (tmp_path / "crash" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(h)["epoch"] for h in history] == [1, 2, 3, 4]


def test_existing_run_directory_is_never_overwritten(tiny_config, tmp_path):
    run(tiny_config, tmp_path / "r", ["train.epochs=1"])
    before = (tmp_path / "r" / "metrics.json").read_text()
    with pytest.raises(ConfigError, match="already holds a run"):
        run(tiny_config, tmp_path / "r", ["train.epochs=1"])
    assert (tmp_path / "r" / "metrics.json").read_text() == before
    with pytest.raises(ConfigError, match="not a run directory"):
        run(None, tmp_path / "nothing", resume=True)


def test_unknown_label_in_select_is_a_config_error(tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="train.select: no label 'tau'; labels are: fitness, interaction"):
        run(tiny_config, tmp_path / "r", ["train.select=\"val.tau.pearson\""])


def test_mse_masks_missing_labels_per_label():
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], requires_grad=True)
    target = torch.tensor([[0.0, float("nan")], [1.0, 1.0], [0.0, float("nan")]])
    loss = MSELoss()(pred, target)
    expected = ((1 + 4 + 0) / 3 + 9 / 1) / 2  # per label over measured entries, then over labels
    assert loss.item() == pytest.approx(expected)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0, 1] == 0


def test_mse_with_an_all_missing_label_stays_finite():
    pred = torch.zeros(4, 2, requires_grad=True)
    target = torch.tensor([[1.0, float("nan")]] * 4)
    loss = MSELoss()(pred, target)
    loss.backward()
    assert loss.item() == pytest.approx(1.0) and torch.isfinite(pred.grad).all()


def test_a_checkpoint_torn_by_a_crash_resumes_from_the_last_complete_one(tiny_config, tmp_path):
    full = run(tiny_config, tmp_path / "full", ["train.epochs=4"])
    crash = tmp_path / "crash"
    run(tiny_config, crash, ["train.epochs=4"], stop_after_epoch=2)
    # A crash during epoch 3's save: its weights and a torn history line are on disk, its state.json is not.
    ckpt = crash / "checkpoint"
    (ckpt / "model-3.safetensors").write_bytes((ckpt / "model-2.safetensors").read_bytes()[:100])
    (crash / "weights" / "best.safetensors").write_bytes(b"garbage")
    with open(crash / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "train_lo')
    run(None, crash, resume=True)
    resumed = json.loads((crash / "metrics.json").read_text())
    for label in ("fitness", "interaction"):
        assert resumed["test"][label]["pearson"] == pytest.approx(full["test"][label]["pearson"], rel=1e-6)
    assert sorted(p.name for p in ckpt.glob("*.safetensors")) == [
        f"best-{resumed['selected_epoch']}.safetensors", "model-4.safetensors", "optimizer-4.safetensors"]
    assert [json.loads(h)["epoch"] for h in (crash / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]


def test_patience_stops_where_the_selected_metric_stopped_improving(tiny_config, tmp_path):
    """A run with patience is the full run cut short: the same epochs up to the stop, the same
    selected epoch and test numbers whenever the full run's best came before the stop."""
    full = run(tiny_config, tmp_path / "full", ["train.epochs=8", "train.lr=0.03"])
    history = [json.loads(h) for h in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()]
    values = [h["val"]["interaction"]["pearson"] for h in history]
    best, stop = 0, None
    for i, v in enumerate(values):  # the reference: patience 1 by hand
        if v > values[best]:
            best = i
        elif i - best >= 1:
            stop = i + 1  # epochs run: the first without improvement is the last
            break
    short = run(tiny_config, tmp_path / "short", ["train.epochs=8", "train.lr=0.03", "train.patience=1"])
    kept = [json.loads(h) for h in (tmp_path / "short" / "metrics.jsonl").read_text().splitlines()]
    assert stop is not None, "the reference run never stalled; pick another lr"
    assert len(kept) == stop and short["epochs"] == stop and short["stopped_early"] and not full["stopped_early"]
    assert [k["val"] for k in kept] == [h["val"] for h in history[:stop]]
    assert short["selected_epoch"] == best + 1
    if full["selected_epoch"] == best + 1:
        assert short["test"] == full["test"]
