"""The header line and ratio table of docs/benchmarks.md, from one or more `cellreg bench` folders.

    python scripts/bench_tables.py docs/bench_cpu [more bench folders ...]

The first folder is the one the doc's main table shows; ratios are medians (and ranges) over all.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path


def lazy_best(m: dict) -> float:
    r = m["hetero_lazy"]
    return max(r["strains_per_s"], r["max_batch_strains_per_s"])


RATIOS = [
    ("transformer at its largest batch ÷ lazy HeteroCell at its fastest batch",
     lambda m: m["transformer"]["max_batch_strains_per_s"] / lazy_best(m)),
    ("transformer ÷ lazy HeteroCell, both at their largest batch",
     lambda m: m["transformer"]["max_batch_strains_per_s"] / m["hetero_lazy"]["max_batch_strains_per_s"]),
    ("DANGO ÷ lazy HeteroCell, both at their largest batch",
     lambda m: m["dango"]["max_batch_strains_per_s"] / m["hetero_lazy"]["max_batch_strains_per_s"]),
    ("lazy HeteroCell ÷ explicit subgraphs, common batch",
     lambda m: m["hetero_lazy"]["strains_per_s"] / m["hetero_explicit"]["strains_per_s"]),
    ("lazy HeteroCell ÷ 1-hop subgraphs, common batch",
     lambda m: m["hetero_lazy"]["strains_per_s"] / m["hetero_1hop"]["strains_per_s"]),
    ("transformer ÷ lazy HeteroCell, common batch",
     lambda m: m["transformer"]["strains_per_s"] / m["hetero_lazy"]["strains_per_s"]),
    ("DANGO ÷ transformer, both at their largest batch",
     lambda m: m["dango"]["max_batch_strains_per_s"] / m["transformer"]["max_batch_strains_per_s"]),
]


def fmt(x: float) -> str:
    return f"{x:.3g}×" if x < 10 else f"{x:.0f}×" if x >= 100 else f"{x:.1f}×"


def main() -> None:
    import torch

    folders = [Path(a) for a in sys.argv[1:]] or [Path("docs/bench_cpu")]
    reports = [json.loads((f / "bench.json").read_text()) for f in folders]
    first = reports[0]
    methods = first["methods"]
    threads = sorted({r.get("threads") for rep in reports for r in rep["methods"].values() if "threads" in r})
    walls = [(f / "wall_s.txt").read_text().strip() for f in folders if (f / "wall_s.txt").exists()]
    peak = max(max(r.get("peak_mb", 0), r.get("max_batch_peak_mb", 0)) for r in methods.values() if "peak_mb" in r)
    print(f"_Made by `scripts/benchmarks.sh` with torch {torch.__version__}, {', '.join(map(str, threads))} "
          f"thread(s) per worker ({len(reports)} run(s) of the suite)._")
    print()
    print(f"whole suite wall s: {', '.join(walls) or 'n/a'}; peak resident in the largest worker: {peak:,.0f} MB; "
          f"per-method wall s (first run): " + ", ".join(f"{n} {r.get('wall_s')}" for n, r in methods.items()))
    print()
    skipped = {n: r["skipped"] for rep in reports for n, r in rep["methods"].items() if "skipped" in r}
    if skipped:
        print(f"skipped: {skipped}")
        print()
    print("| ratio | median | range |")
    print("| --- | --- | --- |")
    for title, f in RATIOS:
        try:
            values = sorted(f(rep["methods"]) for rep in reports)
        except (KeyError, ZeroDivisionError):
            print(f"| {title} | n/a | |")
            continue
        spread = f"{fmt(values[0])}–{fmt(values[-1])}" if len(values) > 1 else "one run"
        print(f"| {title} | {fmt(statistics.median(values))} | {spread} |")
    if len(reports) > 1:
        print()
        print("max batch per run: " + "; ".join(
            ", ".join(f"{n} {r.get('max_batch')}" for n, r in rep["methods"].items()) for rep in reports))
        for name in methods:
            for key in ("strains_per_s", "max_batch_strains_per_s"):
                vals = [rep["methods"][name].get(key) for rep in reports if key in rep["methods"].get(name, {})]
                if vals:
                    med = statistics.median(vals)
                    print(f"{name} {key}: {min(vals):,.1f}–{max(vals):,.1f} (max dev from median {max(abs(v - med) / med for v in vals):.0%})")


if __name__ == "__main__":
    main()
