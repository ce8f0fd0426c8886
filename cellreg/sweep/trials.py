"""Running a sweep's trials: each one an ordinary run directory, its validation metric reported to
Optuna every epoch so the pruner can stop it, until the study holds its budget of trials.

Several workers (processes, on one machine or many) can share one study: each takes the next trial
when the study holds fewer than the budget, under a lock file in the sweep's folder, so workers that
share the folder never start more trials than the budget.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import time
from pathlib import Path

import attrs
import tomli_w

from cellreg.config import ConfigError, to_toml
from cellreg.plugin_api.registry import PluginError, Registry
from cellreg.plugin_api.run_config import load_config
from cellreg.sweep.space import Param
from cellreg.sweep.study import derive_seed, require_optuna, sampler
from cellreg.training.callbacks import Callback
from cellreg.training.group_metrics import selected_value
from cellreg.training.trainer import run

log = logging.getLogger("cellreg")
MAX_FAILURES_IN_A_ROW = 3


@attrs.frozen
class Spec:
    """One config's sweep: what every trial shares."""

    config_path: Path
    params: list[Param]
    out: Path  # the sweep's folder: trials/, trials.tsv, best.toml, plots/
    select: str
    overrides: tuple[str, ...]  # --set, then the data seeds held fixed (see data_seed_pins)
    seed: int
    same_seed: bool
    sampler: str


def trial_dir(out: Path, number: int) -> Path:
    return out / "trials" / f"trial-{number:04d}"


def toml_value(value) -> str:
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def data_seed_pins(unstructured, path: str = "") -> list[str]:
    """``key.seed=<seed>`` for every ``seed`` the config leaves to the run's seed (None): the trials'
    own seeds then move the model's initialisation and batch order only, never the data."""
    pins = []
    items = unstructured.items() if isinstance(unstructured, dict) else enumerate(unstructured)
    for key, value in items:
        here = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
        if key == "seed" and value is None and path:
            pins.append(here)
        elif isinstance(value, (dict, list)):
            pins += data_seed_pins(value, here)
    return pins


class Pruning(Callback):
    """Reports the selected validation metric each epoch; asks the trainer to stop when Optuna prunes."""

    def __init__(self, trial) -> None:
        self.trial, self.pruned = trial, False

    def on_epoch_end(self, trainer, entry: dict, improved: bool) -> None:
        value = selected_value(entry, trainer.select)  # val.<group>.<metric>, as the history has it
        if math.isnan(value):
            return
        self.trial.report(value, step=entry["epoch"])
        if self.trial.should_prune():
            self.pruned = True
            trainer.request_stop(f"pruned by the sweep's pruner at epoch {entry['epoch']}")


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock file (POSIX; NFS with lock support); elsewhere no lock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_orphans(study) -> list[int]:
    """Mark failed the trials left running by a worker of this machine that is gone (killed, crashed):
    the study then counts them out and runs others in their place."""
    optuna = require_optuna()
    host, orphans = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        who = t.user_attrs.get("worker", "")
        name, _, pid = who.rpartition(":")
        if name == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(t.number, state=optuna.trial.TrialState.FAIL)
            orphans.append(t.number)
    return orphans


def counted(study) -> int:
    """Trials that use up the budget: complete, pruned, running or waiting (failed ones do not)."""
    states = require_optuna().trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED, states.RUNNING,
                                                         states.WAITING)))


def run_trial(spec: Spec, study, trial, registry: Registry | None) -> str:
    """Sample, train and tell one trial; returns its state's name."""
    optuna = require_optuna()
    number = trial.number
    study.sampler = sampler(spec.sampler, derive_seed(spec.seed + 1, number))
    values = {p.key: p.suggest(trial) for p in spec.params}
    seed = spec.seed if spec.same_seed else derive_seed(spec.seed, number)
    out = trial_dir(spec.out, number)
    overrides = [*spec.overrides, f"seed={seed}", *(f"{k}={toml_value(v)}" for k, v in values.items())]
    trial.set_user_attr("seed", seed)
    trial.set_user_attr("run_dir", out.relative_to(spec.out).as_posix())
    prune = Pruning(trial)
    start = time.perf_counter()
    try:
        config = load_config(spec.config_path, overrides, registry=registry)
        trial.set_user_attr("config", to_toml(config))  # best.toml can be written on any machine
        report = run(spec.config_path, out, overrides, registry=registry, callbacks=(prune,))
    except (ConfigError, PluginError, ValueError, FloatingPointError, RuntimeError) as exc:
        trial.set_user_attr("error", str(exc)[:2000])
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log.warning("trial %d failed (%s): %s", number, out, exc)
        return "FAIL"
    trial.set_user_attr("epochs", report["epochs"])
    trial.set_user_attr("seconds", round(time.perf_counter() - start, 2))
    value = selected_value(report, report["select"])
    if prune.pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        state = "PRUNED"
    elif math.isnan(value):
        trial.set_user_attr("error", f"{spec.select} is undefined (a constant prediction?)")
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        state = "FAIL"
    else:
        study.tell(trial, value)
        state = "COMPLETE"
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    log.info("trial %d %s: %s %.4f after %d epochs (%s)", number, state.lower(), spec.select, value,
             report["epochs"], shown)
    return state


def work(spec: Spec, study, budget: int, registry: Registry | None = None) -> int:
    """Run trials until the study holds ``budget`` (counting every worker's); returns how many this
    worker ran. Stops with an error after a few failed trials in a row (a broken space, not bad luck)."""
    ran = failures = 0
    lock = spec.out / ".sweep.lock"
    while True:
        with _lock(lock):
            for number in fail_orphans(study):
                log.warning("trial %d was left running by a worker that is gone: marked failed", number)
            if counted(study) >= budget:
                return ran
            trial = study.ask()
            trial.set_user_attr("worker", _worker())
        state = run_trial(spec, study, trial, registry)
        ran += 1
        failures = failures + 1 if state == "FAIL" else 0
        if failures >= MAX_FAILURES_IN_A_ROW:
            error = study.trials[trial.number].user_attrs.get("error", "")
            raise ConfigError(str(spec.out), [f"{failures} trials in a row failed; the last (trial {trial.number}, "
                                              f"{trial_dir(spec.out, trial.number)}): {error}"])
