"""The pieces the training loop calls, in the style of Lightning's callbacks: the epoch history,
checkpoints, the final report and the plots. Each owns its files in the run directory; the loop
itself (:class:`~cellreg.training.trainer.Trainer`) writes none. Only the main process calls them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from cellreg.training import plots
from cellreg.training.checkpoint import load_training_state, publish_weights, save_training_state, write_json
from cellreg.training.metrics import json_safe
from cellreg.training.rundir import RunDir
from cellreg.training.trackers import epoch_values, hyperparameters, init_kwargs

if TYPE_CHECKING:
    from cellreg.training.trainer import Trainer


class Callback:
    """No-op hooks; a piece overrides the ones it needs."""

    def on_fit_start(self, trainer: "Trainer", resumed: bool) -> None:
        """Before the first epoch this process trains (after a resume, the first one left)."""

    def on_epoch_end(self, trainer: "Trainer", entry: dict, improved: bool) -> None:
        """After each epoch's validation: ``entry`` is its line of metrics.jsonl."""

    def on_fit_end(self, trainer: "Trainer", report: dict, pred: np.ndarray, obs: np.ndarray) -> None:
        """After the single test evaluation: the report and the test predictions in raw units."""


def _parses(line: str) -> bool:
    try:
        json.loads(line)
        return True
    except json.JSONDecodeError:
        return False


class History(Callback):
    """``metrics.jsonl``: one JSON line per epoch; a resume drops lines written after its checkpoint."""

    def __init__(self, run_dir: RunDir) -> None:
        self.path = run_dir.history

    def on_fit_start(self, trainer: "Trainer", resumed: bool) -> None:
        if not resumed:
            self.path.write_text("")
            return
        text = self.path.read_text() if self.path.exists() else ""  # a crash before the first epoch
        kept = [ln for ln in text.splitlines()  # a torn last line too
                if _parses(ln) and json.loads(ln)["epoch"] <= trainer.state["epoch"]]
        self.path.write_text("".join(ln + "\n" for ln in kept))

    def on_epoch_end(self, trainer: "Trainer", entry: dict, improved: bool) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(json_safe(entry)) + "\n")

    def read(self) -> list[dict]:
        return [json.loads(ln) for ln in self.path.read_text().splitlines() if ln]


class Checkpoints(Callback):
    """``checkpoint/`` (everything ``--resume`` needs) and the published ``weights/best|last``."""

    def __init__(self, run_dir: RunDir) -> None:
        self.dir = run_dir

    @staticmethod
    def load(trainer: "Trainer") -> None:
        """Every process: the model, optimizer, scheduler and loop state of the last checkpoint."""
        if (trainer.dir.checkpoint / "state.json").exists():  # else crashed before it: start from epoch 0
            trainer.state = load_training_state(trainer.dir.checkpoint, trainer.acc.unwrap_model(trainer.model),
                                                trainer.optimizer, trainer.scheduler)

    def on_fit_start(self, trainer: "Trainer", resumed: bool) -> None:
        if resumed and trainer.state["epoch"]:  # re-publish the checkpoint's weights
            publish_weights(self.dir.checkpoint, self.dir.best, self.dir.last)

    def on_epoch_end(self, trainer: "Trainer", entry: dict, improved: bool) -> None:
        save_training_state(self.dir.checkpoint, trainer.acc.unwrap_model(trainer.model), trainer.optimizer,
                            trainer.scheduler, json_safe(trainer.state), improved)
        publish_weights(self.dir.checkpoint, self.dir.best, self.dir.last)


class Report(Callback):
    """``metrics.json``: the final report."""

    def __init__(self, run_dir: RunDir) -> None:
        self.path = run_dir.metrics

    def on_fit_end(self, trainer: "Trainer", report: dict, pred: np.ndarray, obs: np.ndarray) -> None:
        write_json(self.path, report)


class Plots(Callback):
    """``plots/``: learning curves and test predicted-vs-observed."""

    def __init__(self, run_dir: RunDir, history: History) -> None:
        self.dir, self.history = run_dir.plots, history

    def on_fit_end(self, trainer: "Trainer", report: dict, pred: np.ndarray, obs: np.ndarray) -> None:
        self.dir.mkdir(exist_ok=True)
        table = trainer.data.table
        plots.learning_curves(self.history.read(), trainer.select, self.dir / "learning_curves.png")
        plots.predicted_vs_observed(pred, obs, table.label_names, table.label_groups, report["test"], self.dir)


class Finished(Callback):
    """``checkpoint/progress.json``, written last: a resume of a finished run returns its report."""

    def __init__(self, run_dir: RunDir) -> None:
        self.path = run_dir.progress

    def on_fit_end(self, trainer: "Trainer", report: dict, pred: np.ndarray, obs: np.ndarray) -> None:
        write_json(self.path, {"finished": True})


class Tracking(Callback):
    """``train.log_with``: Accelerate's trackers, started with the resolved config and the run's name,
    fed each epoch's training and validation numbers (not the test split's: a dashboard is where runs
    get chosen), finished at the end."""

    def on_fit_start(self, trainer: "Trainer", resumed: bool) -> None:
        if trainer.config.train.log_with:
            name = trainer.dir.root.name
            trainer.acc.init_trackers(trainer.config.name or name, config=hyperparameters(trainer.config),
                                      init_kwargs=init_kwargs(name, str(trainer.dir.tracking)))

    def on_epoch_end(self, trainer: "Trainer", entry: dict, improved: bool) -> None:
        if trainer.config.train.log_with:
            trainer.acc.log(epoch_values(entry), step=entry["epoch"])

    def on_fit_end(self, trainer: "Trainer", report: dict, pred: np.ndarray, obs: np.ndarray) -> None:
        for tracker in trainer.acc.trackers:  # end_training's work on this process, without tearing
            tracker.finish()                   # down the process group that the other ranks still use
        trainer.acc.trackers.clear()


def standard_callbacks(run_dir: RunDir) -> tuple[History, list[Callback]]:
    """The history (which the report reads back) and every piece, in the order they run."""
    history = History(run_dir)
    return history, [history, Checkpoints(run_dir), Report(run_dir), Plots(run_dir, history), Finished(run_dir),
                     Tracking()]
