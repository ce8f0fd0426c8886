"""``cellreg compare``: the test metrics of several runs side by side, only when that is fair.

Runs are comparable when they saw the same data (table fingerprint) and the same split (split
key); anything else is refused, naming the run and what differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import attrs  # noqa: E402

from cellreg.config import ConfigError  # noqa: E402
from cellreg.plugin_api.registry import PluginError, Registry, default_registry  # noqa: E402
from cellreg.toolkit.atomic import atomic_write  # noqa: E402
from cellreg.training.rundir import RunDir  # noqa: E402


def load_run(path: Path) -> dict:
    rd = RunDir(path).require()
    if not rd.metrics.exists():
        raise ConfigError(str(path), ["has no metrics.json: the run has not finished (cellreg run --resume)"])
    return {"path": path, "info": attrs.asdict(rd.read_info()), "metrics": json.loads(rd.metrics.read_text())}


def run_label(run: dict, runs: list[dict]) -> str:
    """The run's name; with its folder where another run has the same name (two runs of one config)."""
    name = run["info"]["name"]
    if not name:
        return run["path"].name
    twins = sum(r["info"]["name"] == name for r in runs)
    return f"{name} ({run['path'].name})" if twins > 1 else name


def check_comparable(runs: list[dict]) -> None:
    first = runs[0]
    problems = []
    for run in runs[1:]:
        for key, what in (("data_fingerprint", "data"), ("split_key", "split")):
            if run["info"][key] != first["info"][key]:
                problems.append(f"{run['path']} differs from {first['path']} in its {what} "
                                f"({key} {run['info'][key]} != {first['info'][key]})")
    if problems:
        raise ConfigError("compare", problems + ["runs are compared only on the same data and split"])


def _fmt(m: dict, metric: str) -> str:
    value = m.get(metric)
    if value is None:
        return "n/a"
    ci = (m.get("ci95") or {}).get(metric)
    if ci and None not in ci:
        return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{value:.3f}"


def markdown(runs: list[dict], default_op: str | None = None) -> str:
    """One row per run and label; the op is named where it is not the default one."""
    lines = ["| run | model | split | label | n | Pearson [95% CI] | Spearman [95% CI] | RMSE | R² | train s | strains/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        info, metrics = run["info"], run["metrics"]
        model = f"{info['encoder']} + {info['head']}" + (f" ({info['perturbation']})" if info["perturbation"] != default_op else "")
        for label in info["labels"]:
            m = metrics["test"][label]
            lines.append(f"| {run_label(run, runs)} | {model} | {info['split']} | {label} | {m['n']} | "
                         f"{_fmt(m, 'pearson')} | {_fmt(m, 'spearman')} | {_fmt(m, 'rmse')} | {_fmt(m, 'r2')} | "
                         f"{metrics['train_seconds']:.0f} | {metrics['strains_per_second'] or 0:,.0f} |")
    return "\n".join(lines)


def chart(runs: list[dict], path: Path) -> None:
    labels = list(dict.fromkeys(label for run in runs for label in run["info"]["labels"]))
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(labels) * len(runs) ** 0.5), 4))
    for i, run in enumerate(runs):
        test = {label: run["metrics"]["test"].get(label, {}) for label in labels}  # a run may lack a label
        values = [test[label].get("pearson") or 0.0 for label in labels]
        ci = [(test[label].get("ci95") or {}).get("pearson") for label in labels]
        ci = [c if c and None not in c else [v, v] for c, v in zip(ci, values)]  # undefined: no bar
        err = [[v - lo for v, (lo, _) in zip(values, ci)], [hi - v for v, (_, hi) in zip(values, ci)]]
        ax.bar([j + i * width for j in range(len(labels))], values, width, yerr=err, capsize=3,
               label=run_label(run, runs))
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(labels))], labels)
    ax.set(ylabel="test Pearson (95% bootstrap CI)", title=f"split: {runs[0]['info']['split']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")  # a temporary file name has no .png
    plt.close(fig)


def compare(run_dirs: list[str | Path], out: str | Path | None = None, registry: Registry | None = None) -> str:
    runs = [load_run(Path(p)) for p in run_dirs]
    check_comparable(runs)
    try:
        default_op = (registry or default_registry()).default("perturbation")
    except PluginError:  # two installed defaults: name every op
        default_op = None
    table = markdown(runs, default_op.name if default_op else None)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "compare.md", lambda tmp: Path(tmp).write_text(table + "\n"))
        atomic_write(out / "compare.png", lambda tmp: chart(runs, Path(tmp)))
    return table
