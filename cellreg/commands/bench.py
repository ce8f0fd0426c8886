"""``cellreg bench``: training throughput of every model family and operator, one machine, one process.

One organism and one set of strains for every method of the suite; the suite file's ``[bench]``
table names them, and the reference method the ratios are to (the bundled suite: the synthetic
organism, yeast scale by default: 6,607 genes, 9 relations, ~2.4 M edges; DANGO). Each method runs in a fresh worker process (so its
memory is its own): set up once, time training steps at the common batch, find the largest batch
that fits the memory budget and keeps a step under ``max_step_s`` (``largest_batch``), and time
steps at that batch. Warm-up steps are excluded; each figure is the median over
timed windows. Peak memory is the process's resident high-water mark (reset between phases), or
CUDA's peak allocation on a GPU.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import tomli

from cellreg.config import ConfigError

SUITE = "bench_suite.toml"
SETTINGS = "bench"  # the suite file's table of settings; every other table is a method


# -- worker (one method, in its own process) -----------------------------------------------------

def _reset_peak() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    else:
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM, the peak resident size
            f.write("5")


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


def _peak_mb() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else _status_mb("VmHWM")


def _current_mb() -> float:
    import torch

    return torch.cuda.memory_allocated() / 2**20 if torch.cuda.is_available() else _status_mb("VmRSS")


def _strain_size(op, batch: dict) -> tuple[float, float]:
    """Mean nodes and edges in one strain's encoder input, where the op reports them."""
    sizes = op.strain_size(batch)
    if sizes is None:
        return math.nan, math.nan
    nodes, edges = sizes
    return float(nodes.float().mean()), float(edges.float().mean())


def largest_batch(probe, batch: int, base_mb: float, peak_mb: float, step_s: float, budget_mb: float,
                  max_step_s: float, max_batch: int, wild_type: bool = False) -> int:
    """The largest power-of-two multiple of ``batch`` whose step fits the memory budget and time cap.

    ``probe(b)`` runs one step at ``b`` and returns (peak MB, seconds); ``peak_mb``/``step_s`` are
    those at ``batch``, ``base_mb`` the memory before any step. Doubles while the next size is
    predicted to fit (linear through the last two measured sizes; from the first, through ``base_mb``
    and zero seconds at batch 0) and confirms each size by measuring it: a wild-type encoder's step
    cost barely depends on the batch, a per-strain one's does, so one point can't tell them apart.

    With ``wild_type`` (F(G) once per step, whatever the batch) the time cap bounds what a step
    adds over that fixed cost, the intercept at batch 0 of the line through the last two measured
    sizes: a 7 s encoder step must not stop the search at the first size (it did at batch 8 on a
    2-core CPU, leaving the transformer 1.1 strains/s). Its first doubling is therefore measured,
    not predicted from one point.
    """
    best, (peak, seconds) = batch, (peak_mb, step_s)
    half = ((base_mb + peak) / 2, seconds / 2)
    fixed, two_points = 0.0, False
    while 2 * best <= max_batch:
        over_time = 3 * seconds - 2 * half[1] - fixed > max_step_s and (two_points or not wild_type)
        if 3 * peak - 2 * half[0] > budget_mb or over_time:
            break
        half, (peak, seconds) = (peak, seconds), probe(2 * best)
        two_points = True
        if wild_type:  # the line through (b, half) and (2b, seconds) meets batch 0 at 2 * half - seconds
            fixed = min(max(2 * half[1] - seconds, 0.0), half[1], seconds)
        if peak > budget_mb or seconds - fixed > max_step_s:
            break
        best *= 2
    return best


def organism(settings: dict, genes: int) -> dict:
    """The run-config tables of the suite's organism at ``genes`` genes."""
    graph = dict(settings["graph"])
    if "size_option" in settings:
        graph.update(settings.get("sizes", {}).get(str(genes), {settings["size_option"]: genes}))
    return {"graph": graph, "phenotypes": dict(settings["phenotypes"])}


def worker(method: dict, settings: dict, genes: int, batch: int, budget_mb: float, max_step_s: float,
           window_s: float, windows: int, max_batch: int, threads: int = 1, seed: int = 0) -> dict:
    import torch

    from cellreg.plugin_api.run_config import parse_config
    from cellreg.plugin_api.registry import default_registry
    from cellreg.training.pipeline import Pipeline
    from cellreg.training.trainer import apply_threads

    apply_threads(threads)
    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    registry = default_registry()
    tables = organism(settings, genes)
    tables["graph"].update(method.get("graph", {}))  # a method's [graph] adds options to the organism's
    rest = {k: v for k, v in method.items() if k != "graph"}
    config = parse_config({"seed": seed, **tables, **rest}, source="bench", registry=registry)
    pipe = Pipeline(config, registry, Path(settings["base_dir"]))
    table = pipe.data.table
    if batch > len(table):
        raise ValueError(f"--batch {batch}: the suite's phenotypes have only {len(table):,} strains to draw a batch from")
    model = pipe.model.to(device)
    op, collate = pipe.op, pipe.collate
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    sizes = {}

    def step(b: int) -> float:
        rows = rng.choice(len(table), size=b, replace=False)
        start = time.perf_counter()  # the op's collate is part of a training step's cost
        data = collate(rows)
        if b not in sizes:  # once per size, and not timed
            counted = time.perf_counter()
            sizes[b] = _strain_size(op, data)
            start += time.perf_counter() - counted
        data = {k: v.to(device) for k, v in data.items()}
        out = model(data)
        out["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def timed(b: int) -> tuple[float, float, float]:
        """Median strains/s and steps/s over timed windows after one warm-up step, and the peak memory."""
        step(b)
        _reset_peak()
        rates, steps = [], []
        for _ in range(windows):
            done, n, start = 0.0, 0, time.perf_counter()
            while n == 0 or time.perf_counter() - start < window_s:
                done += step(b)
                n += 1
            rates.append(n * b / done)
            steps.append(n / done)
        return statistics.median(rates), statistics.median(steps), _peak_mb()

    def probe(b: int) -> tuple[float, float]:
        _reset_peak()
        seconds = step(b)
        return _peak_mb(), seconds

    base_mb = _current_mb()
    common = timed(batch)
    best = largest_batch(probe, batch, base_mb, common[2], batch / common[0], budget_mb, max_step_s,
                         min(max_batch, len(table)),  # a batch is drawn without replacement
                         wild_type=not model.encoder.per_strain)
    largest = timed(best) if best != batch else common
    return {
        "common_batch": batch, "strains_per_s": common[0], "steps_per_s": common[1], "peak_mb": common[2],
        "max_batch": best, "max_batch_strains_per_s": largest[0], "max_batch_steps_per_s": largest[1],
        "max_batch_peak_mb": largest[2], "nodes_per_strain": sizes[batch][0], "edges_per_strain": sizes[batch][1],
        "device": str(device), "threads": torch.get_num_threads(),
    }


# -- driver ------------------------------------------------------------------------------------------

def _read_suite(path: str | None) -> dict[str, dict]:
    text = Path(path).read_text() if path else resources.files("cellreg.commands").joinpath(SUITE).read_text()
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(path or SUITE, [f"TOML syntax error: {exc}"]) from None


def load_suite(path: str | None) -> dict[str, dict]:
    """The methods of a suite file, by name (every table but ``[bench]``)."""
    return {k: v for k, v in _read_suite(path).items() if k != SETTINGS}


def suite_settings(path: str | None) -> dict:
    """The suite's ``[bench]`` table: organism, strains and reference method. What a suite file leaves
    out comes from the bundled suite, except that an organism of its own (``graph``) brings its own
    size options (``size_option``, ``sizes``: none means ``--genes`` does not apply). Relative data
    paths resolve against the suite file's folder."""
    bundled = _read_suite(None)[SETTINGS]
    own = _read_suite(path).get(SETTINGS, {}) if path else {}
    inherited = {k: v for k, v in bundled.items() if "graph" not in own or k not in ("size_option", "sizes")}
    settings = {**inherited, **own, "base_dir": str(Path(path).resolve().parent) if path else "."}
    missing = [k for k in ("graph", "phenotypes", "reference") if k not in settings]
    if missing:
        raise ConfigError(path or SUITE, [f"[bench]: missing {', '.join(missing)}"])
    return settings


def missing_plugins(method: dict) -> list[str]:
    from cellreg.plugin_api.registry import PluginError, default_registry

    registry, missing = default_registry(), []
    wanted = [("encoder", method["model"]["encoder"]["name"]), ("head", method["model"]["head"]["name"])]
    if "perturbation" in method:
        wanted.append(("perturbation", method["perturbation"]["name"]))
    elif registry.default("perturbation") is None:
        missing.append("perturbation (no default op installed)")
    wanted += [("loss", t["name"]) for t in method.get("loss", [])]
    for kind, name in wanted:
        try:
            registry.get(kind, name)
        except PluginError:
            missing.append(f"{kind} {name}")
    return missing


def run_bench(suite: str | None = None, genes: int = 6607, batch: int = 8, budget_gb: float = 8.0,
              max_step_s: float = 10.0, window_s: float = 2.0, windows: int = 3, max_batch: int = 8192,
              methods: list[str] | None = None, timeout_s: float = 300.0, threads: int = 1) -> dict:
    specs, settings = load_suite(suite), suite_settings(suite)
    chosen = methods or list(specs)
    problems = [f"unknown method {m!r}; the suite has: {', '.join(specs)}" for m in chosen if m not in specs]
    if batch < 1:
        problems.append(f"--batch {batch}: expected at least 1")
    if problems:
        raise ConfigError("bench", problems)
    results = {}
    for name in chosen:
        missing = missing_plugins(specs[name])
        if missing:
            results[name] = {"skipped": f"not installed: {', '.join(missing)}"}
            continue
        args = json.dumps({"method": specs[name], "settings": settings, "genes": genes, "batch": batch, "budget_mb": budget_gb * 1024,
                           "max_step_s": max_step_s, "window_s": window_s, "windows": windows,
                           "max_batch": max_batch, "threads": threads})
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "cellreg.commands.bench", "--worker", args], capture_output=True,
                                  text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            results[name] = {"skipped": f"took longer than {timeout_s:.0f} s"}
            continue
        if proc.returncode != 0:
            results[name] = {"skipped": "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]}
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[name]["wall_s"] = round(time.perf_counter() - start, 1)
    reference = settings["reference"]
    base = results.get(reference, {})
    for r in results.values():
        if "strains_per_s" in r and base.get("strains_per_s"):
            r["vs_reference"] = r["strains_per_s"] / base["strains_per_s"]
            r["max_batch_vs_reference"] = r["max_batch_strains_per_s"] / base["max_batch_strains_per_s"]
    return {"genes": genes, "common_batch": batch, "memory_budget_gb": budget_gb, "reference": reference,
            "methods": results}


def ratio(value: float | None) -> str:
    """Three significant digits: the slowest methods are thousands of times slower than the reference."""
    return "n/a" if value is None else f"{value:.3g}"


def markdown(report: dict) -> str:
    ref = report["reference"]
    lines = [f"Organism: {report['genes']:,} genes; common batch {report['common_batch']}; memory budget "
             f"{report['memory_budget_gb']} GB. Ratios are to {ref} at the same batch setting.", "",
             "| method | strains/s (common batch) | steps/s | peak MB | max batch | strains/s (max batch) | peak MB (max) "
             f"| nodes/strain | edges/strain | × {ref} (common) | × {ref} (max) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["methods"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} |||||||||| ")
            continue
        f = lambda v, p=1: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{p}f}"  # noqa: E731
        lines.append(f"| {name} | {f(r['strains_per_s'])} | {f(r['steps_per_s'], 2)} | {f(r['peak_mb'], 0)} | "
                     f"{r['max_batch']} | {f(r['max_batch_strains_per_s'])} | {f(r['max_batch_peak_mb'], 0)} | "
                     f"{f(r['nodes_per_strain'], 0)} | {f(r['edges_per_strain'], 0)} | "
                     f"{ratio(r.get('vs_reference'))} | {ratio(r.get('max_batch_vs_reference'))} |")
    return "\n".join(lines)


def chart(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(n, r) for n, r in report["methods"].items() if "strains_per_s" in r]
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 3, 4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["strains_per_s"] for _, r in rows], 0.4, label=f"batch {report['common_batch']}")
    ax.bar(x + 0.2, [r["max_batch_strains_per_s"] for _, r in rows], 0.4, label="largest batch in budget")
    ax.set_yscale("log")
    ax.set_xticks(x, [n for n, _ in rows], rotation=30, ha="right")
    ax.set(ylabel="training strains / s (log)", title=f"{report['genes']:,} genes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    spec = json.loads(sys.argv[2])
    print(json.dumps(worker(spec.pop("method"), **spec)))
