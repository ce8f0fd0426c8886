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
from cellreg.training.group_metrics import scorer_for  # noqa: E402
from cellreg.training.group_report import Row, group_tables, with_interval  # noqa: E402
from cellreg.training.rundir import RunDir  # noqa: E402

MAX_BARS = 24  # label groups in compare.png


def load_run(path: Path) -> dict:
    rd = RunDir(path).require()
    if not rd.metrics.exists():
        raise ConfigError(str(path), ["has no metrics.json: the run has not finished (cellreg run --resume)"])
    info = rd.read_info()
    return {"path": path, "info": attrs.asdict(info), "groups": info.groups(), "metrics": json.loads(rd.metrics.read_text())}


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


def markdown(runs: list[dict], default_op: str | None = None) -> str:
    """One row per run and label group (a table per group kind); the op is named where it is not the default one."""
    rows = []
    for run in runs:
        info, metrics = run["info"], run["metrics"]
        model = f"{info['encoder']} + {info['head']}" + (f" ({info['perturbation']})" if info["perturbation"] != default_op else "")
        for group in run["groups"]:
            rows.append(Row((run_label(run, runs), model, info["split"]), group, metrics["test"][group.name],
                            (f"{metrics['train_seconds']:.0f}", f"{metrics['strains_per_second'] or 0:,.0f}")))
    return group_tables(rows, ("run", "model", "split"), ("train s", "strains/s"), with_interval)


def chart(runs: list[dict], path: Path) -> None:
    """Each run's headline test metric per label group (the first of its kind's columns), with its
    interval; at most :data:`MAX_BARS` groups (compare.md has them all)."""
    groups = list({g.name: g for run in runs for g in run["groups"]}.values())
    shown = groups[:MAX_BARS]
    headline = {g.name: next(iter(scorer_for(g.kind).columns())) for g in shown}
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(5, min(16, 0.6 * len(shown) * len(runs) ** 0.5 + 2)), 4.2))
    for i, run in enumerate(runs):
        test = {g.name: run["metrics"]["test"].get(g.name, {}) for g in shown}  # a run may lack a group
        values = [test[g.name].get(headline[g.name]) or 0.0 for g in shown]
        ci = [(test[g.name].get("ci95") or {}).get(headline[g.name]) for g in shown]
        ci = [c if c and None not in c else [v, v] for c, v in zip(ci, values)]  # undefined: no bar
        err = [[v - lo for v, (lo, _) in zip(values, ci)], [hi - v for v, (_, hi) in zip(values, ci)]]
        ax.bar([j + i * width for j in range(len(shown))], values, width, yerr=err, capsize=3,
               label=run_label(run, runs))
    metrics = set(headline.values())
    ticks = [g.name if len(metrics) == 1 else f"{g.name} ({headline[g.name]})" for g in shown]
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(shown))], ticks,
                  rotation=0 if len(shown) <= 6 else 90, fontsize=8 if len(shown) > 6 else None)
    more = f"; {len(shown)} of {len(groups)} label groups" if len(groups) > len(shown) else ""
    ax.set(ylabel=f"test {metrics.pop() if len(metrics) == 1 else 'headline metric'} (95% bootstrap CI)",
           title=f"split: {runs[0]['info']['split']}{more}")
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
