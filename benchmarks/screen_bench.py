"""How fast ``cellreg screen`` ranks designs at yeast scale (6,607 genes, 9 relations), per family,
and how close the transformer's scoring comes to the machine's matmul peak.

    nice .venv/bin/python benchmarks/screen_bench.py --out docs/screen_bench   # about 20 min on 2 cores

1. Trains one tiny run per family of the bundled bench suite (``cellreg/commands/bench_suite.toml``:
   the same widths as ``cellreg bench``) on the synthetic organism at yeast scale (1 epoch on 512
   pairs: the weights' values do not change the cost of scoring).
2. Screens all 1,313,400 triples of 200 candidate genes with each run, each screen in fresh
   processes with 1 torch thread each (``--repeats`` times; medians): one process per family, and
   the transformer also sharded over 2 processes (``--num-processes 2``: the 2 cores). Per-strain
   encoders (HeteroCell) screen the first ``--per-strain-limit`` designs only, as ``--limit`` does
   for a user. Each process's peak resident memory is read from /proc (VmHWM, rank 0's); the
   transformer is also screened with a tenth of the designs, to show the peak does not depend on
   their number.
3. Measures the machine's fp32 matmul peak (torch.mm 2048 x 2048, median of 7) in 1 process and in
   2 single-thread processes at once (summed); the transformer's cross-attention head costs
   2 · (2·N·d + d²) FLOP per design (two N x d products and the query's d x d map), so designs/s
   x that / peak is the fraction of the peak its scoring reaches.
4. Training throughput at matched width: ``cellreg bench --max-step-s 60`` for the transformer and
   HeteroCell with lazy masks at the transformer's width and depth (``hetero_lazy_d64``).

Writes ``OUT/screen_bench.json`` and ``OUT/screen_bench.md`` (the table docs/benchmarks.md quotes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

FAMILIES = ("additive", "transformer", "dango", "hetero_lazy", "hetero_lazy_d64")
PER_STRAIN = ("hetero_lazy", "hetero_lazy_d64")
CANDIDATES, SIZE = 200, 3
DESIGNS = 1_313_400  # C(200, 3)


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -- workers (each in a fresh process) -----------------------------------------------------------------

def train_worker(name: str, work: str) -> dict:
    """One tiny run of the suite's method ``name`` at yeast scale."""
    import tomli_w

    from cellreg.commands.bench import load_suite, organism, suite_settings
    from cellreg.training.trainer import run

    settings = suite_settings(None)
    method = load_suite(None)[name]
    tables = organism(settings, 6607)
    tables["phenotypes"] = {"name": "synthetic", "singles": False, "doubles": 512, "triples": 0}
    config = {"name": name, "seed": 0, **tables, "split": {"kind": "random"}, **method,
              "train": {"epochs": 1, "batch_size": 128, "eval_batch_size": 128, "train_eval_rows": 128,
                        "threads": 1, "progress": False, "select": "val.interaction.pearson"}}
    path = Path(work) / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    start = time.perf_counter()
    run(path, Path(work) / name)
    return {"train_s": round(time.perf_counter() - start, 1)}


def screen_worker(name: str, work: str, threads: int, limit: int | None, batch: int | None) -> dict:
    """One screen of the 200 first genes' triples with the run ``name`` (every rank of a torchrun)."""
    from cellreg.commands.screen import screen
    from cellreg.training.pipeline import Pipeline

    run_dir = Path(work) / name
    genes = Pipeline.from_run(run_dir).graph.genes[:CANDIDATES]
    out = Path(work) / f"{name}.screen.tsv"
    summary = screen([run_dir], out, objectives=["interaction:max"], genes=genes, sizes=[SIZE], top=100,
                     limit=limit, threads=threads, batch_size=batch, progress=False, overwrite=True)
    return {**summary, "peak_mb": round(_peak_mb(), 1)}


def matmul_worker(threads: int, n: int = 2048, repeats: int = 7) -> dict:
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        rates.append(2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return {"gflops": round(statistics.median(rates), 2), "threads": threads}


def bench_worker(methods: list[str]) -> dict:
    from cellreg.commands.bench import run_bench

    # A 60 s step cap: under load a yeast-scale transformer step at batch 8 takes 5-6 s, and the default
    # 10 s cap would stop its largest-batch search at 8, where a wild-type encoder's step is all F(G).
    return run_bench(None, methods=methods, threads=1, max_step_s=60.0, timeout_s=1800)


WORKERS = {"train": train_worker, "screen": screen_worker, "matmul": matmul_worker, "bench": bench_worker}


def call(kind: str, processes: int = 1, **kwargs) -> dict:
    """A worker in a fresh process (or ``processes`` of them under torchrun, rank 0 reporting): its
    memory high-water mark is its own."""
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone",
                                          f"--nproc_per_node={processes}"]
    proc = subprocess.run([sys.executable, *launcher, __file__, "--worker", kind, json.dumps(kwargs)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{kind} {kwargs}: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- driver ------------------------------------------------------------------------------------------

def flops_per_design(dim: int, genes: int = 6607) -> int:
    return 2 * (2 * genes * dim + dim * dim)


def concurrent_matmul(processes: int) -> dict:
    """The matmul peak of ``processes`` single-thread processes running at once (summed): the
    ceiling of a screen sharded over as many processes."""
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "matmul", json.dumps({"threads": 1})],
                              stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    rates = [json.loads(p.communicate()[0].strip().splitlines()[-1])["gflops"] for p in procs]
    return {"gflops": round(sum(rates), 2), "processes": processes, "each": rates}


def screen_entry(name: str, work: Path, processes: int, limit: int | None, batch: int | None, repeats: int) -> dict:
    runs = [call("screen", processes, name=name, work=str(work), threads=1, limit=limit, batch=batch)
            for _ in range(repeats)]
    rates = [r["designs_per_s"] for r in runs]
    return {"designs": runs[0]["designs"], "processes": processes, "batch": runs[0]["batch"],
            "designs_per_s": statistics.median(rates), "repeats": rates,
            "scoring_s": statistics.median(r["scoring_seconds"] for r in runs),
            "wall_s": statistics.median(r["seconds"] for r in runs), "peak_mb": max(r["peak_mb"] for r in runs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="docs/screen_bench")
    p.add_argument("--work", default="/tmp/cellreg_screen_bench", help="run directories (kept for reruns)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--per-strain-limit", type=int, default=64)
    p.add_argument("--families", nargs="+", default=list(FAMILIES))
    p.add_argument("--skip-training-bench", action="store_true")
    p.add_argument("--update", action="store_true", help="keep OUT/screen_bench.json's entries of the families "
                   "not rerun (and its training bench when skipped)")
    args = p.parse_args()
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"designs": DESIGNS, "candidates": CANDIDATES, "size": SIZE, "screens": [], "matmul": {}}
    if args.update and (out / "screen_bench.json").exists():
        report = json.loads((out / "screen_bench.json").read_text())
        report["matmul"] = {int(k): v for k, v in report["matmul"].items()}
        report["screens"] = [e for e in report["screens"] if e["family"] not in args.families]
    for name in args.families:
        if not (work / name / "weights").exists():
            print(name, call("train", name=name, work=str(work)), flush=True)
    report["matmul"] = {1: concurrent_matmul(1), 2: concurrent_matmul(2)}
    print("matmul", report["matmul"], flush=True)
    plan = [(name, 1) for name in args.families] + [("transformer", 2)] * ("transformer" in args.families)
    for name, processes in plan:
        per_strain = name in PER_STRAIN
        entry = screen_entry(name, work, processes, args.per_strain_limit if per_strain else None,
                             16 if per_strain else None, 1 if per_strain else args.repeats)
        entry["family"] = name
        if name == "transformer":
            entry["gflops"] = entry["designs_per_s"] * flops_per_design(64) / 1e9
            entry["peak_fraction"] = entry["gflops"] / report["matmul"][processes]["gflops"]
            entry["peak_mb_tenth"] = call("screen", processes, name=name, work=str(work), threads=1,
                                          limit=DESIGNS // 10, batch=None)["peak_mb"]
        report["screens"].append(entry)
        print(json.dumps(entry), flush=True)
    if not args.skip_training_bench:
        report["training"] = call("bench", methods=["transformer", "hetero_lazy_d64"])
        print("training", json.dumps(report["training"]), flush=True)
    (out / "screen_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "screen_bench.md").write_text(markdown(report) + "\n")
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = [f"Triples of {report['candidates']} candidate genes ({report['designs']:,} designs) on the synthetic "
             "organism at yeast scale (6,607 genes, 9 relations), 1 torch thread per process; per-strain encoders "
             "screen the first designs only (--limit). Medians over fresh processes.", "",
             "| family | processes | batch | designs scored | designs/s | scoring s | wall s | peak MB |",
             "|---|---|---|---|---|---|---|---|"]
    for e in report["screens"]:
        lines.append(f"| {e['family']} | {e['processes']} | {e['batch']} | {e['designs']:,} | "
                     f"{e['designs_per_s']:,.0f} | {e['scoring_s']:.1f} | {e['wall_s']:.1f} | {e['peak_mb']:,.0f} |")
    lines += ["", "| transformer, processes | matmul peak GFLOP/s | scoring GFLOP/s | fraction of peak | "
              f"peak MB ({report['designs']:,} designs) | peak MB ({report['designs'] // 10:,}) |",
              "|---|---|---|---|---|---|"]
    for e in report["screens"]:
        if "peak_fraction" in e:
            m = report["matmul"][e["processes"]]
            lines.append(f"| {e['processes']} | {m['gflops']:.1f} | {e['gflops']:.1f} | {e['peak_fraction']:.2f} | "
                         f"{e['peak_mb']:,.0f} | {e['peak_mb_tenth']:,.0f} |")
    training = report.get("training", {}).get("methods", {})
    if training:
        lines += ["", "| training (cellreg bench, 1 thread) | strains/s (batch 8) | largest batch | strains/s (largest) |",
                  "|---|---|---|---|"]
        for name, r in training.items():
            if "strains_per_s" in r:
                lines.append(f"| {name} | {r['strains_per_s']:,.1f} | {r['max_batch']} | "
                             f"{r['max_batch_strains_per_s']:,.1f} |")
            else:
                lines.append(f"| {name} | {r.get('skipped')} | | |")
        t, h = training.get("transformer", {}), training.get("hetero_lazy_d64", {})
        if "strains_per_s" in t and "strains_per_s" in h:
            lines += ["", f"Transformer / HeteroCell (lazy masks, dim 64, 2 layers) training throughput: "
                          f"{t['strains_per_s'] / h['strains_per_s']:.2g}x at batch 8, "
                          f"{t['max_batch_strains_per_s'] / h['max_batch_strains_per_s']:,.0f}x at each one's "
                          "largest batch."]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        import logging
        import os

        logging.basicConfig(level=logging.WARNING)
        result = WORKERS[sys.argv[2]](**json.loads(sys.argv[3]))
        if os.environ.get("RANK", "0") == "0":
            print(json.dumps(result))
    else:
        main()
