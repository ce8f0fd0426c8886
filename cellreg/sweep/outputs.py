"""What a sweep leaves in its folder besides the trials' run directories: ``trials.tsv`` (every trial's
parameters, selected validation metric, state and time; never a test number, so nothing chooses on
the test split), ``best.toml`` (the best trial's resolved config) and Optuna's plots.

Any worker may write them when it stops, from the whole study, so the last one to stop leaves the
complete set; each file is replaced atomically.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from cellreg.sweep.space import Param
from cellreg.sweep.study import require_optuna
from cellreg.toolkit.atomic import atomic_write

log = logging.getLogger("cellreg")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def trials_table(study, params: list[Param], select: str) -> str:
    """One line per trial, in trial order."""
    header = ["trial", "state", select, "epochs", "seconds", "seed", *(p.key for p in params), "run_dir"]
    lines = ["\t".join(header)]
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        value = t.value if t.value is not None else (
            t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)  # a pruned trial's last
        row = [t.number, t.state.name.lower(), value, t.user_attrs.get("epochs"), t.user_attrs.get("seconds"),
               t.user_attrs.get("seed"), *(t.params.get(p.key) for p in params), t.user_attrs.get("run_dir")]
        lines.append("\t".join(map(_cell, row)))
    return "\n".join(lines) + "\n"


def best_trial(study):
    """The complete trial with the best validation value, or None."""
    optuna = require_optuna()
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return study.best_trial if done else None


def best_toml(trial, study_name: str, select: str) -> str:
    header = (f"# The best trial of study {study_name!r}: trial {trial.number}, {select} = {trial.value:.6g} on the "
              f"validation split (the test split chose nothing).\n# Its run directory: {trial.user_attrs['run_dir']}. "
              "`cellreg run` of this file repeats it.\n")
    return header + trial.user_attrs["config"]


def plots(study, folder: Path, select: str) -> list[str]:
    """Optuna's optimisation history and parameter importances as PNGs; returns the files written.
    Importances use PED-ANOVA, which needs no scikit-learn (Optuna's default, fANOVA, does)."""
    optuna = require_optuna()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    written = []
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    figures = [("optimization_history.png", lambda: ovm.plot_optimization_history(study, target_name=select), 1)]
    if study.get_trials(deepcopy=False) and study.get_trials(deepcopy=False)[0].distributions:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        figures.append(("param_importances.png", lambda: ovm.plot_param_importances(study, evaluator=evaluator), 2))
    for name, draw, needed in figures:
        if len(done) < needed:
            log.info("%s skipped: it needs %d complete trial%s", name, needed, "s" * (needed > 1))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            try:
                ax = draw()
            except (ValueError, RuntimeError) as exc:  # e.g. every trial has the same value
                log.info("%s skipped: %s", name, exc)
                continue
        fig = (ax.flat[0] if isinstance(ax, np.ndarray) else ax).figure  # Optuna returns an Axes or an array of them
        fig.tight_layout()
        atomic_write(folder / name, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
        plt.close(fig)
        written.append(name)
    return written


def write_outputs(study, params: list[Param], select: str, out: Path) -> Path | None:
    """trials.tsv, best.toml and plots/; returns the best trial's run directory (None without one)."""
    table = trials_table(study, params, select)
    atomic_write(out / "trials.tsv", lambda tmp: Path(tmp).write_text(table))
    best = best_trial(study)
    if best is None:
        log.warning("%s: no trial is complete; no best.toml", out)
        return None
    text = best_toml(best, study.study_name, select)
    atomic_write(out / "best.toml", lambda tmp: Path(tmp).write_text(text))
    plots(study, out / "plots", select)
    return out / best.user_attrs["run_dir"]
