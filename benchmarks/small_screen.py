"""The small-screen regime (docs/results.md, "Small screens"): the additive baseline against the
transformer and its ablations, over seeds, every run with the same budget.

Each variant is an example config plus ``--set`` overrides; each run is a plain ``cellreg run`` in its
own process (1 thread, so reruns repeat the numbers). Prints a markdown table of test interaction
Pearson per seed, mean and the difference to the baseline's mean, and writes every report to
``--out``/results.json. Runs that already have a metrics.json are reused, so a stopped grid resumes.

    python benchmarks/small_screen.py --out runs/small_screen            # the ablation, 3 seeds
    python benchmarks/small_screen.py --variants baseline transformer --seeds 0
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASELINE = "examples/small_screen_baseline.toml"
TRANSFORMER = "examples/small_screen_transformer.toml"

# name -> (config, overrides, what it shows). The transformer rows switch changes off from the
# small-screen settings (examples/small_screen_transformer.toml); "no additive path, dropout 0.1" is
# the main example's transformer on this data.
VARIANTS = {
    "baseline": (BASELINE, [], "gene_embedding + sum_mlp, the additive baseline"),
    "baseline, dropout 0.3": (BASELINE, ["model.head.dropout=0.3"], "the baseline's MLP with the same dropout"),
    "transformer": (TRANSFORMER, [], "the small-screen transformer: additive path, dropout 0.3, early stopping"),
    "dropout 0.1": (TRANSFORMER, ["model.encoder.dropout=0.1", "model.head.dropout=0.1"],
                    "the main example's dropout"),
    "no additive path, dropout 0.1": (TRANSFORMER, ["model.head.additive=false", "model.encoder.dropout=0.1",
                                                    "model.head.dropout=0.1"], "the main example's model"),
    "no early stopping": (TRANSFORMER, ["train.patience=0"], "every epoch runs; the best is still selected"),
}


def run_one(config: str, overrides: list[str], seed: int, out: Path) -> dict:
    metrics = out / "metrics.json"
    if not metrics.exists():
        if out.exists():  # a run stopped part-way: continue it
            cmd = [sys.executable, "-m", "cellreg.commands.cli", "run", "--resume", str(out)]
        else:
            cmd = [sys.executable, "-m", "cellreg.commands.cli", "run", config, "--out", str(out),
                   "--set", f"seed={seed}", "--set", "train.progress=false", "--set", "train.threads=1"]
            for o in overrides:
                cmd += ["--set", o]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        print(f"  {out.name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    report = json.loads(metrics.read_text())
    return {"pearson": report["test"]["interaction"]["pearson"], "epoch": report["selected_epoch"],
            "epochs": report["epochs"], "seconds": report["train_seconds"]}


def table(results: dict[str, dict[int, dict]], seeds: list[int]) -> str:
    base = statistics.mean(results["baseline"][s]["pearson"] for s in seeds) if "baseline" in results else None
    lines = ["| variant | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | − baseline | epochs run |",
             "|---" * (len(seeds) + 4) + "|"]
    for name, runs in results.items():
        values = [runs[s]["pearson"] for s in seeds]
        mean = statistics.mean(values)
        diff = f"{mean - base:+.3f}" if base is not None and name != "baseline" else "–"
        epochs = ", ".join(str(runs[s]["epochs"]) for s in seeds)
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {mean:.3f} | {diff} | {epochs} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/small_screen")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args()
    out = Path(args.out)
    results = {}
    for name in args.variants:
        config, overrides, _ = VARIANTS[name]
        results[name] = {s: run_one(config, overrides, s, out / f"{name.replace(' ', '_').replace(',', '')}_s{s}")
                         for s in args.seeds}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results, args.seeds))


if __name__ == "__main__":
    main()
