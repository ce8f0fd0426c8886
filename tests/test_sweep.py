"""cellreg sweep: the space is checked before any training, trials are ordinary runs reported to
Optuna each epoch (so the pruner acts on the selected validation metric), the study resumes and is
shared by several worker processes without running a trial twice."""

from __future__ import annotations

import json
import multiprocessing
import sys

import attrs
import numpy as np
import pytest
import tomli_w

optuna = pytest.importorskip("optuna")

from cellreg.commands.cli import main  # noqa: E402
from cellreg.commands.sweep import Options, sweep, sweep_one  # noqa: E402
from cellreg.config import ConfigError, read_toml  # noqa: E402
from cellreg.plugin_api.run_config import load_config  # noqa: E402
from cellreg.sweep.study import derive_seed, storage  # noqa: E402
from cellreg.training.rundir import RunDir  # noqa: E402
from conftest import TINY  # noqa: E402

SMALL = {**TINY, "graph": {"name": "synthetic", "genes": 120},
         "phenotypes": {"name": "synthetic", "doubles": 700, "triples": 150}}
SELECT = "val.interaction.pearson"
SPACE = {"param": [
    {"key": "model.encoder.dim", "type": "int", "low": 4, "high": 32, "log": True},
    {"key": "train.lr", "type": "categorical", "choices": [1e-6, 3e-3, 1e-2]},  # 1e-6 learns nothing: pruned
    {"key": "loss[0].weight", "type": "float", "low": 0.5, "high": 2.0},
]}


def write(path, doc):
    path.write_text(tomli_w.dumps(doc))
    return path


def load_study(out, name="tiny"):
    return optuna.load_study(study_name=name, storage=storage(str(out / "study.journal")))


def history(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 4-trial sweep with the median pruner active after one complete trial."""
    root = tmp_path_factory.mktemp("sweep")
    config, space = write(root / "tiny.toml", SMALL), write(root / "space.toml", SPACE)
    out = root / "out"
    sweep([str(config)], [str(space)], str(out), Options(trials=4, sampler="random", pruner_startup=1, seed=3))
    return config, space, out


def test_a_four_trial_sweep_prunes_on_the_selected_validation_metric(swept):
    config, _, out = swept
    study = load_study(out)
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.number for t in trials] == [0, 1, 2, 3]  # the storage holds the 4 trials
    states = [t.state for t in trials]
    assert optuna.trial.TrialState.PRUNED in states and optuna.trial.TrialState.COMPLETE in states
    for t in trials:
        run_dir = out / t.user_attrs["run_dir"]
        RunDir(run_dir).require()  # an ordinary run directory
        epochs = history(run_dir)
        # what Optuna was told each epoch is the run's own selected validation metric
        assert t.intermediate_values == pytest.approx({e["epoch"]: e["val"]["interaction"]["pearson"] for e in epochs})
        saved = load_config(run_dir / "config.toml")
        assert saved.seed == derive_seed(3, t.number)  # per-trial seeds, reproducible from the sweep's seed
        assert saved.model.encoder.config.dim == t.params["model.encoder.dim"]
        assert saved.loss[0].weight == t.params["loss[0].weight"]
        assert saved.graph.config.seed == 0 and saved.phenotypes.config.seed == 0  # the data never moves
        if t.state == optuna.trial.TrialState.PRUNED:
            # the median rule, recomputed: the trial's best so far lags the median of the complete
            # trials before it at the epoch it was stopped
            step = max(t.intermediate_values)
            assert step < 3 and len(epochs) == step
            earlier = [u.intermediate_values[step] for u in trials
                       if u.number < t.number and u.state == optuna.trial.TrialState.COMPLETE]
            assert max(t.intermediate_values.values()) < np.median(earlier)
            assert json.loads((run_dir / "metrics.json").read_text())["stop_reason"].startswith("pruned")
        else:
            assert len(epochs) == 3
    assert len({json.loads((out / t.user_attrs["run_dir"] / "run.json").read_text())["data_fingerprint"]
                for t in trials}) == 1


def test_trials_table_best_toml_and_plots(swept, capsys):
    _, _, out = swept
    study = load_study(out)
    lines = (out / "trials.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    assert header[:3] == ["trial", "state", SELECT] and "test" not in " ".join(header)  # test never chooses
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:]]
    assert [r["state"] for r in rows] == [t.state.name.lower() for t in sorted(study.trials, key=lambda t: t.number)]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value)
    assert float(rows[best.number][SELECT]) == pytest.approx(best.value, rel=1e-5)
    text = (out / "best.toml").read_text()
    assert text.split("\n", 2)[2] == (out / best.user_attrs["run_dir"] / "config.toml").read_text()
    assert main(["validate", str(out / "best.toml")]) == 0
    assert "valid" in capsys.readouterr().out
    assert (out / "plots" / "optimization_history.png").stat().st_size > 1000
    assert (out / "plots" / "param_importances.png").exists() == (len(complete) >= 2)


def test_resuming_adds_trials_without_rerunning_finished_ones(tmp_path):
    config, space = write(tmp_path / "tiny.toml", SMALL), write(tmp_path / "space.toml", SPACE)
    out = tmp_path / "out"
    options = Options(trials=2, sampler="random", pruner="off", overrides=("train.epochs=1",))
    sweep_one(config, space, out, options)
    before = {p: p.stat().st_mtime_ns for p in out.glob("trials/*/metrics.json")}
    assert len(before) == 2
    sweep_one(config, space, out, attrs.evolve(options, trials=3))
    study = load_study(out)
    assert sorted(t.number for t in study.trials) == [0, 1, 2]
    assert {p: p.stat().st_mtime_ns for p in before} == before  # the finished trials were not rerun
    assert (out / "trials" / "trial-0002" / "metrics.json").exists()
    with pytest.raises(ConfigError, match="made from another space"):
        changed = write(tmp_path / "space2.toml", {"param": SPACE["param"][:1]})
        sweep_one(config, changed, out, attrs.evolve(options, trials=4))


def test_two_workers_share_one_study_without_duplicates(tmp_path):
    """Two processes on one journal file (spawned: forking after torch is imported can hang; killed
    if they outlive the timeout)."""
    from processes import join_or_kill, sweep_worker

    config, space = write(tmp_path / "tiny.toml", SMALL), write(tmp_path / "space.toml", SPACE)
    out = tmp_path / "out"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=sweep_worker, args=(config, space, out)) for _ in range(2)]
    for w in workers:
        w.start()
    assert join_or_kill(workers, timeout=300) == [0, 0]
    trials = load_study(out).trials
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]  # N in all, none started twice
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["run_dir"] for t in trials}) == 4
    assert sorted(p.name for p in (out / "trials").iterdir()) == [f"trial-000{i}" for i in range(4)]
    pids = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials}
    assert pids <= {str(w.pid) for w in workers}


@pytest.mark.parametrize("param,expected", [
    ({"key": "model.encoder.dimm", "type": "int", "low": 4, "high": 8},
     "param[0] (model.encoder.dimm = 4): model.encoder: unknown key 'dimm' (did you mean 'dim'?)"),
    ({"key": "model.encoder.dim", "type": "int", "low": 64, "high": 8}, "param[0] (model.encoder.dim): low 64 is above high 8"),
    ({"key": "train.lr", "type": "categorical", "choices": []},
     "param[0] (train.lr): categorical needs a non-empty 'choices' array"),
    ({"key": "train.epochs", "type": "float", "low": 1.5, "high": 3.0},
     "param[0] (train.epochs = 1.5): train.epochs: expected int, got float 1.5"),
    ({"key": "train.lr", "type": "float", "low": 0.0, "high": 0.1}, "param[0] (train.lr = 0.0): train.lr: 'lr' must be > 0.0"),
    ({"key": "loss[3].weight", "type": "float", "low": 0.5, "high": 1.0}, "loss[3] does not exist (loss has 1 entry"),
    ({"key": "split.seed", "type": "int", "low": 0, "high": 3}, "cannot be swept: every trial must be scored on the same"),
    ({"key": "model.encoder.dim", "type": "integer", "low": 4, "high": 8}, "param[0].type: expected one of 'int'"),
])
def test_a_bad_space_is_refused_before_any_training(tmp_path, param, expected):
    config, space = write(tmp_path / "tiny.toml", SMALL), write(tmp_path / "space.toml", {"param": [param]})
    with pytest.raises(ConfigError) as info:
        sweep_one(config, space, tmp_path / "out", Options(trials=2))
    assert str(space) in str(info.value) and expected in str(info.value)
    assert not (tmp_path / "out").exists()  # no storage, no trial


def test_indexed_keys_in_set_address_one_loss_term(tmp_path):
    doc = {**SMALL, "loss": [{"name": "mse", "weight": 1.0}, {"name": "logcosh", "weight": 1.0}]}
    config = load_config(write(tmp_path / "two.toml", doc), ["loss[1].weight=0.25"])
    assert [t.weight for t in config.loss] == [1.0, 0.25]
    with pytest.raises(ConfigError, match=r"loss\[2\] does not exist \(loss has 2 entries"):
        load_config(tmp_path / "two.toml", ["loss[2].weight=0.25"])
    with pytest.raises(ConfigError, match=r"train is not an array"):
        load_config(tmp_path / "two.toml", ["train[0].lr=0.1"])
    assert read_toml(tmp_path / "two.toml") == doc  # the file is never touched


def test_missing_optuna_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    config, space = write(tmp_path / "tiny.toml", SMALL), write(tmp_path / "space.toml", SPACE)
    with pytest.raises(ConfigError, match=r"pip install 'cellreg\[sweep\]'"):
        sweep_one(config, space, tmp_path / "out", Options(trials=2))
