"""A sweep's search space: one ``[[param]]`` table per parameter, checked against the run config's
schema before any trial runs.

Each parameter's bounds (or every choice) are written into the config and the config is parsed as a
run would parse it, so an unknown key, a value of the wrong type or one a validator refuses is an
error naming the parameter and its key, with the schema's own message. Torch- and Optuna-free.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Literal

import attrs

from cellreg.config import ConfigError, read_toml, structure
from cellreg.config.keypath import KeyPathError, assign, parse_key
from cellreg.plugin_api.registry import Registry
from cellreg.plugin_api.run_config import parse_config

Value = int | float | str | bool

# What a sweep holds fixed, so that every trial is scored alike: key prefix -> why
FIXED = {
    ("seed",): "the sweep sets each trial's seed itself (see --seed and --same-seed)",
    ("split",): "every trial must be scored on the same validation strains",
    ("train", "select"): "the metric the trials are compared on cannot change between trials",
    ("train", "labels"): "the labels behind the selected metric cannot change between trials",
}


@attrs.frozen
class Param:
    """One searched key: ``int`` and ``float`` between ``low`` and ``high`` (``log`` scale, or a
    ``step``), ``categorical`` over ``choices``."""

    key: str
    type: Literal["int", "float", "categorical"]
    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = None
    choices: list[Value] | None = None

    def candidates(self) -> list[Value]:
        """The values that show whether the config takes this parameter: its bounds or every choice."""
        return list(self.choices) if self.type == "categorical" else [self.low, self.high]

    def suggest(self, trial) -> Value:
        """This parameter's value for an Optuna trial."""
        if self.type == "int":
            return trial.suggest_int(self.key, self.low, self.high, step=self.step or 1, log=self.log)
        if self.type == "float":
            return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)
        return trial.suggest_categorical(self.key, list(self.choices))


@attrs.frozen
class _SpaceFile:
    param: list[Param]


def _shape_errors(p: Param) -> list[str]:
    """What Optuna would refuse, said in the space file's terms."""
    if p.type == "categorical":
        errors = [f"{k!r} does not apply to a categorical parameter (give choices only)"
                  for k in ("low", "high", "step") if getattr(p, k) is not None]
        errors += ["'log' does not apply to a categorical parameter"] if p.log else []
        if not p.choices:
            errors.append("categorical needs a non-empty 'choices' array")
        elif len(set(map(repr, p.choices))) < len(p.choices):
            errors.append(f"choices {p.choices!r} repeat a value")
        return errors
    errors = [f"{p.type} needs {k!r}" for k in ("low", "high") if getattr(p, k) is None]
    errors += ["'choices' is for categorical parameters"] if p.choices is not None else []
    if errors:
        return errors
    if p.type == "int":
        errors += [f"{k} must be an int for an int parameter, got {getattr(p, k)!r}"
                   for k in ("low", "high", "step") if getattr(p, k) is not None and type(getattr(p, k)) is not int]
        if errors:
            return errors
    if p.low > p.high:
        errors.append(f"low {p.low!r} is above high {p.high!r}")
    if p.log and p.low <= 0:
        errors.append(f"a log scale needs low > 0, got {p.low!r}")
    if p.step is not None:
        if p.log:
            errors.append("give 'log' or 'step', not both")
        elif p.step <= 0:
            errors.append(f"step must be > 0, got {p.step!r}")
        elif not errors and abs(round((p.high - p.low) / p.step) * p.step - (p.high - p.low)) > 1e-9 * max(1, p.high):
            errors.append(f"high - low ({p.high - p.low!r}) is not a multiple of step {p.step!r}")
    return errors


def _fixed(key: str) -> str | None:
    try:
        parts = tuple(parse_key(key))
    except KeyPathError:
        return None  # reported by the schema check
    return next((why for prefix, why in FIXED.items() if parts[: len(prefix)] == prefix), None)


def check_space(params: list[Param], raw_config: dict, registry: Registry) -> list[str]:
    """Every problem of the space against one config's schema, each naming ``param[i]`` and its key."""
    errors = []
    keys = [p.key.strip() for p in params]
    for i, p in enumerate(params):
        where = f"param[{i}] ({p.key})"
        shape = _shape_errors(p)
        why = _fixed(p.key)
        if keys.index(keys[i]) != i:
            shape.append(f"the same key as param[{keys.index(keys[i])}]")
        if why:
            shape.append(f"cannot be swept: {why}")
        errors += [f"{where}: {m}" for m in shape]
        if shape:
            continue
        seen: set[str] = set()
        for value in p.candidates():
            doc = copy.deepcopy(raw_config)
            try:
                assign(doc, p.key, value)
                parse_config(doc, registry=registry)
                messages = []
            except KeyPathError as exc:
                messages = [str(exc)]
            except ConfigError as exc:
                messages = exc.errors
            for m in messages:
                if m not in seen:  # the same unknown key at low and high: once
                    seen.add(m)
                    errors.append(f"param[{i}] ({p.key} = {value!r}): {m}")
    return errors


def load_space(path: str | Path, raw_config: dict, registry: Registry) -> list[Param]:
    """The space file's parameters, or a ConfigError naming the file and every bad parameter."""
    raw = read_toml(path)
    errors: list[str] = []
    space = structure(raw, _SpaceFile, "", errors) if raw.get("param") != [] else None
    if raw.get("param") == []:
        errors.append("param: no [[param]] tables; give one per swept key")
    if not errors:
        errors = check_space(space.param, raw_config, registry)
    if errors:
        raise ConfigError(str(path), errors)
    return space.param

