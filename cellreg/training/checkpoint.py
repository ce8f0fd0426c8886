"""Pickle-free checkpoints: tensors in safetensors, everything else in JSON.

Accelerate's ``save_state`` pickles optimizer and RNG state; a checkpoint from an untrusted
source must not be able to run code, so the optimizer state is flattened into named tensors plus
a JSON skeleton, and RNG state is not stored at all (every epoch reseeds from (seed, epoch)).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model

from cellreg.toolkit.atomic import atomic_write


def write_json(path: Path, obj: Any) -> None:
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, allow_nan=False)
            f.write("\n")

    atomic_write(path, write)


def save_weights(model: torch.nn.Module, path: Path) -> None:
    atomic_write(path, lambda tmp: save_model(model, tmp))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Strict: a missing or unexpected tensor is an error; so is a damaged file, naming it."""
    with _readable(path, "weights"):
        load_model(model, path, strict=True)


@contextlib.contextmanager
def _readable(path: Path, what: str):
    """safetensors' own errors (``invalid header length``) name no file; these do."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such {what} file")
    try:
        yield
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc}); the file is damaged or not a safetensors "
                         "file") from None
    except RuntimeError as exc:  # load_model's strict check: tensors of another model
        raise ValueError(f"{path}: {what} of another model ({str(exc).splitlines()[0]})") from None


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, skeleton = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, entry in state["state"].items():
        plain = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain[key] = value
        skeleton["state"][str(pid)] = plain
    return tensors, skeleton


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], skeleton: dict) -> dict:
    state = {int(pid): dict(plain) for pid, plain in skeleton["state"].items()}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"param_groups": skeleton["param_groups"], "state": state}


def save_training_state(directory: Path, model: torch.nn.Module, optimizer, scheduler, meta: dict,
                        improved: bool) -> None:
    """Everything a resumed run needs, as one consistent set: the weights, optimizer state and best
    weights go to files named by the epoch, and ``state.json`` (written last, atomically) names
    the set it belongs to. A crash at any point leaves the previous complete set in force."""
    epoch, previous = meta["epoch"], _files(directory)
    files = {"model": f"model-{epoch}.safetensors", "optimizer": f"optimizer-{epoch}.safetensors",
             "best": f"best-{epoch}.safetensors" if improved else previous["best"]}
    save_weights(model, directory / files["model"])
    if improved:
        atomic_write(directory / files["best"], lambda tmp: shutil.copyfile(directory / files["model"], tmp))
    tensors, skeleton = _flatten_optimizer(optimizer.state_dict())
    atomic_write(directory / files["optimizer"], lambda tmp: save_file(tensors, tmp))
    sched = {k: v for k, v in scheduler.state_dict().items() if _jsonable(v)}
    write_json(directory / "state.json", {**meta, "files": files, "optimizer": skeleton, "scheduler": sched})
    for stale in directory.glob("*.safetensors"):
        if stale.name not in files.values():
            stale.unlink()


def _files(directory: Path) -> dict[str, str]:
    state = directory / "state.json"
    return json.loads(state.read_text())["files"] if state.exists() else {}


def publish_weights(directory: Path, best: Path, last: Path) -> None:
    """Copy the checkpoint's best and latest weights to where ``predict`` and users look for them."""
    files = _files(directory)
    for name, path in (("best", best), ("model", last)):
        atomic_write(path, lambda tmp, src=directory / files[name]: shutil.copyfile(src, tmp))


def load_training_state(directory: Path, model: torch.nn.Module, optimizer, scheduler) -> dict:
    state = json.loads((directory / "state.json").read_text())
    files = state.pop("files")
    load_weights(model, directory / files["model"])
    with _readable(directory / files["optimizer"], "optimizer state"):
        tensors = load_file(directory / files["optimizer"])
    optimizer.load_state_dict(_unflatten_optimizer(tensors, state.pop("optimizer")))
    scheduler.load_state_dict({**scheduler.state_dict(), **state.pop("scheduler")})
    return state


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except TypeError:
        return False
