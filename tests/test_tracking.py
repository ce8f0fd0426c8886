"""train.log_with: Accelerate's trackers get every epoch's numbers and the resolved config; a
tracker whose package is missing is a config error naming the extra, before any data loads."""

from __future__ import annotations

import importlib.util
import json

import pytest
import tomli_w

from cellreg.config import ConfigError
from cellreg.training.trackers import init_kwargs
from cellreg.training.trainer import run
from conftest import TINY

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def test_tensorboard_event_files_hold_each_epoch_and_the_config(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "train": {**TINY["train"], "epochs": 2, "log_with": ["tensorboard"]}}))
    out = tmp_path / "run"
    run(config, out)
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    folder = out / "tracking" / "tiny"  # the trackers' project is the config's name
    scalars = event_accumulator.EventAccumulator(str(folder))
    scalars.Reload()
    for tag, value in (("val/interaction/pearson", lambda h: h["val"]["interaction"]["pearson"]),
                       ("train_loss", lambda h: h["train_loss"]), ("lr", lambda h: h["lr"])):
        events = scalars.Scalars(tag)
        assert [e.step for e in events] == [1, 2]
        assert [e.value for e in events] == pytest.approx([value(h) for h in history], rel=1e-6)
    assert not any(tag.startswith("test") for tag in scalars.Tags()["scalars"])  # the test split is not tracked
    from tensorboard.plugins.hparams import plugin_data_pb2

    (sub,) = [p for p in folder.iterdir() if p.is_dir() and any(p.glob("events.*"))]  # add_hparams' own run
    hparams = event_accumulator.EventAccumulator(str(sub))
    hparams.Reload()
    data = plugin_data_pb2.HParamsPluginData.FromString(
        hparams.PluginTagToContent("hparams")["_hparams_/session_start_info"])
    values = data.session_start_info.hparams
    assert values["model.encoder.dim"].number_value == 16
    assert values["train.lr"].number_value == pytest.approx(0.003)
    assert values["model.encoder.name"].string_value == "gene_embedding"
    assert values["train.log_with"].string_value == "tensorboard"


def test_a_missing_tracker_names_its_extra_before_any_data_loads(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps({**TINY, "train": {**TINY["train"], "log_with": ["wandb"]}}))
    with pytest.raises(ConfigError, match=r"train.log_with\[0\]: 'wandb' needs the wandb package.*cellreg\[wandb\]"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_wandb_runs_offline_unless_the_user_says_otherwise(monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    assert init_kwargs("r", "/x")["wandb"] == {"name": "r", "dir": "/x", "mode": "offline"}
    monkeypatch.setenv("WANDB_MODE", "online")
    assert "mode" not in init_kwargs("r", "/x")["wandb"]  # wandb then reads WANDB_MODE itself
