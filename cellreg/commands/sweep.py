"""``cellreg sweep``: tune a config's hyperparameters with Optuna, each trial an ordinary run.

Several configs get the same budget each, on the same data and split; their winners, chosen on the
validation split, are then compared on the test split with ``cellreg compare``. See docs/sweeps.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import attrs

from cellreg.config import ConfigError, apply_override, read_toml, to_toml
from cellreg.config.schema import converter
from cellreg.plugin_api.registry import Registry, default_registry
from cellreg.plugin_api.run_config import parse_config
from cellreg.sweep.space import load_space
from cellreg.sweep.study import open_study, pruner, require_optuna, sampler
from cellreg.training.group_metrics import metric_higher_is_better
from cellreg.training.pipeline import Pipeline

log = logging.getLogger("cellreg")


@attrs.frozen
class Options:
    """What every config of one ``cellreg sweep`` shares."""

    trials: int
    storage: str | None = None  # default: <out>/study.journal
    study: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    pruner_startup: int = 2
    seed: int | None = None  # default: the config's seed
    same_seed: bool = False
    overrides: tuple[str, ...] = ()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sweep_one(config_path: str | Path, space_path: str | Path, out: str | Path, options: Options,
              study_name: str | None = None, registry: Registry | None = None) -> Path | None:
    """One config's sweep into ``out``; returns the best trial's run directory (None without one)."""
    from cellreg.sweep.outputs import write_outputs
    from cellreg.sweep.trials import Spec, data_seed_pins, work

    registry = registry or default_registry()
    config_path, out = Path(config_path), Path(out)
    raw = read_toml(config_path)
    for assignment in options.overrides:
        apply_override(raw, assignment)
    config = parse_config(raw, str(config_path), registry)
    params = load_space(space_path, raw, registry)  # a bad space fails here, before any training
    require_optuna()
    Pipeline(config, registry, config_path.resolve().parent, str(config_path)).preflight()
    seed = config.seed if options.seed is None else options.seed
    pins = tuple(f"{key}={config.seed}" for key in data_seed_pins(converter.unstructure(config)))
    select = config.train.select
    direction = "maximize" if metric_higher_is_better(select.split(".")[-1]) else "minimize"
    identity = {"config": _sha(to_toml(config)), "space": _sha(json.dumps([attrs.asdict(p) for p in params])),
                "seeds": f"{seed}{' (the same for every trial)' if options.same_seed else ' (derived per trial)'}"}
    name = study_name or options.study or config.name or config_path.stem
    where = options.storage or str(out / "study.journal")
    study = open_study(where, name, direction, identity, pruner(options.pruner, options.pruner_startup,
                                                                config.train.epochs), sampler(options.sampler, seed))
    trials_dir = out / "trials"
    # the folder first: a worker asks for its trial before it writes the trial's folder
    if trials_dir.exists() and any(trials_dir.iterdir()) and not study.get_trials(deepcopy=False):
        raise ConfigError(str(out), [f"holds trials of another study than {name!r} in {where}; choose another --out "
                                     "(nothing was overwritten)"])
    spec = Spec(config_path, params, out, select, tuple(options.overrides) + pins, seed, options.same_seed,
                options.sampler)
    ran = work(spec, study, options.trials, registry)
    log.info("%s: this worker ran %d trial%s; the study holds %d", name, ran, "s" * (ran != 1),
             len(study.get_trials(deepcopy=False)))
    return write_outputs(study, params, select, out)


def sweep(configs: list[str], spaces: list[str], out: str | None, options: Options,
          registry: Registry | None = None) -> str:
    """Sweep each config with the same budget; with several, compare the winners on the test split.
    Returns a summary (markdown)."""
    if len(spaces) not in (1, len(configs)):
        raise ConfigError("--space", [f"give one space for every config, or one for all: {len(configs)} configs, "
                                      f"{len(spaces)} spaces"])
    if options.trials < 1:
        raise ConfigError("--trials", [f"expected at least 1 trial, got {options.trials}"])
    registry = registry or default_registry()
    names = [read_toml(c).get("name") or Path(c).stem for c in configs]
    if len(set(names)) < len(names):
        raise ConfigError("cellreg sweep", [f"two configs have the same name ({', '.join(names)}): each needs its "
                                            "own study and folder; set their `name`"])
    if len(configs) > 1 and not out:
        raise ConfigError("--out", ["give --out DIR for a sweep of several configs (each gets DIR/<name>)"])
    several = len(configs) > 1
    winners, lines = [], []
    for config, space, name in zip(configs, spaces * len(configs) if len(spaces) == 1 else spaces, names):
        folder = Path(out) / name if several else Path(out or Path("sweeps") / name)
        study = f"{options.study}-{name}" if several and options.study else None
        best = sweep_one(config, space, folder, options, study, registry)
        lines.append(f"{name}: {folder}/trials.tsv; " + (f"best trial {best.name}, its config {folder}/best.toml"
                                                         if best else "no complete trial"))
        winners.append(best)
    if several and all(w is not None and w.exists() for w in winners):
        from cellreg.commands.compare import compare

        lines += ["", "The winners (chosen on validation), on the test split:", "",
                  compare([str(w) for w in winners], out, registry=registry)]
    elif several:
        lines.append("(no comparison: a config has no complete trial, or its winner ran on another machine)")
    return "\n".join(lines)
