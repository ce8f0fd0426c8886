"""Experiment tracking through Accelerate's trackers (``train.log_with``): which package each needs,
and what they are given (the resolved config as hyperparameters, the run's name, every epoch's
numbers); :class:`~cellreg.training.callbacks.Tracking` feeds them. Torch-free, for preflight.

Accelerate itself drops a tracker whose package is missing with a warning only; :func:`tracker_errors`
turns that into a config error naming the extra to install, before any data loads. wandb runs
offline unless the user sets ``WANDB_MODE``: a run never talks to a server it was not told about.
"""

from __future__ import annotations

import importlib.util
import math
import os

from cellreg.config import RunConfig
from cellreg.config.schema import converter

# tracker -> (importable modules, any of which will do; how to install one)
PACKAGES = {
    "tensorboard": (("tensorboard", "tensorboardX"), "pip install 'cellreg[tensorboard]'"),
    "wandb": (("wandb",), "pip install 'cellreg[wandb]'"),
    "mlflow": (("mlflow",), "pip install 'cellreg[mlflow]'"),
    "comet_ml": (("comet_ml",), "pip install comet_ml"),
    "aim": (("aim",), "pip install aim"),
    "clearml": (("clearml",), "pip install clearml"),
    "dvclive": (("dvclive",), "pip install dvclive"),
    "swanlab": (("swanlab",), "pip install swanlab"),
    "trackio": (("trackio",), "pip install trackio"),
}


def tracker_errors(config: RunConfig) -> list[str]:
    """One line per tracker in ``train.log_with`` whose package is not installed."""
    errors = []
    for i, name in enumerate(config.train.log_with):
        modules, install = PACKAGES[name]
        if not any(importlib.util.find_spec(m) for m in modules):
            errors.append(f"train.log_with[{i}]: {name!r} needs the {modules[0]} package, which is not "
                          f"installed: {install}")
    return errors


def flatten(tree, prefix: str = "", sep: str = "/") -> dict:
    """Nested dicts and lists -> one level of ``a/b/c`` keys with numbers, strings or bools; None is
    left out (no tracker takes it)."""
    out: dict = {}
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in items:
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, (dict, list, tuple)):
            if value and all(isinstance(v, (str, int, float, bool)) for v in value) and not isinstance(value, dict):
                out[name] = ", ".join(map(str, value))  # a list of scalars reads better as one value
            else:
                out.update(flatten(value, name, sep))
        elif isinstance(value, (str, int, float, bool)):
            out[name] = value
    return out


def hyperparameters(config: RunConfig) -> dict:
    """The resolved config as flat ``section.key`` hyperparameters."""
    return flatten(converter.unstructure(config), sep=".")


def epoch_values(entry: dict, splits: tuple[str, ...] = ("train", "val")) -> dict:
    """An epoch's line of metrics.jsonl as finite numbers (``val/interaction/pearson``), without the
    strain counts: per label group, its own numbers only (a group of many labels is one set of
    series, not one per label)."""
    kept = {k: v for k, v in entry.items() if k != "epoch"}
    for split in splits:
        if isinstance(kept.get(split), dict):
            kept[split] = {group: {m: x for m, x in value.items() if not isinstance(x, dict)}
                           if isinstance(value, dict) else value for group, value in kept[split].items()}
    flat = flatten(kept)
    return {k: v for k, v in flat.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and not k.endswith("/n")}


def init_kwargs(run_name: str, tracking_dir: str) -> dict:
    """Per-tracker options: each run under its own name; wandb offline unless WANDB_MODE says otherwise."""
    wandb = {"name": run_name, "dir": tracking_dir}
    if not os.environ.get("WANDB_MODE"):
        wandb["mode"] = "offline"
    return {"wandb": wandb, "mlflow": {"run_name": run_name}}
