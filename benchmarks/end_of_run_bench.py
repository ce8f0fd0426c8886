"""The end of a run at scale: a 1-epoch additive run on a Costanzo-format table of 20 M rows, from
start to ``metrics.json``, with its wall time and peak resident memory (the run's process, from
``ru_maxrss``); and the bootstrap intervals alone (the end's slowest step before issue 26) at 200,000
and 2 M test rows, each in a fresh process.

The goal (issue 26): the whole run stays under 8 GB beyond the table itself. The table is the
loaded ``PhenotypeTable`` (offsets, genes, kinds, labels: ~0.6 GB at 20 M pairs and three labels).

    flock /tmp/cellreg-heavy.lock nice .venv/bin/python benchmarks/end_of_run_bench.py --file /tmp/SGA_ExE.txt
    .venv/bin/python benchmarks/end_of_run_bench.py --rows 200000          # generates a small file

The cache is off (``CELLREG_CACHE=off``) so the run parses the file as a first run would.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import tables_bench  # noqa: E402 - the generator of Costanzo-format files

TRAIN = """[train]
epochs = 1
batch_size = 8192
eval_batch_size = 65536
progress = false
select = "val.loss"
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="an existing Costanzo-format file (else one is generated)")
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows to generate without --file")
    parser.add_argument("--dir", help="work folder (default: a temporary one)")
    args = parser.parse_args(argv)
    root = Path(args.dir or tempfile.mkdtemp(prefix="cellreg-end-of-run-"))
    root.mkdir(parents=True, exist_ok=True)
    table = Path(args.file) if args.file else root / "SGA_ExE.txt"
    if not table.exists():
        tables_bench.make_costanzo(table, args.rows, tables_bench.yeast_genes())
    config = tables_bench.write_run_config(root, table.resolve(), "end_of_run", tail=TRAIN)
    out = root / "run"
    env = {**os.environ, "CELLREG_CACHE": "off", "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "run", str(config),
                           "--out", str(out)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode:
        sys.exit(f"the run failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    sizes = metrics["split_sizes"]
    strains = sum(sizes.values())
    table_mb = (strains * (8 + 2 * 4 + 2 * 1 + 4 * len(tables_bench.LABELS))) / 2**20
    label = tables_bench.LABELS[0]
    result = {"rows": strains, "split": sizes, "wall_s": round(wall, 1), "train_s": metrics["train_seconds"],
              "peak_mb": round(peak_mb), "table_mb": round(table_mb), "beyond_table_mb": round(peak_mb - table_mb),
              "ci95_resamples": metrics["test"][label].get("ci95_resamples"),
              "test_pearson": metrics["test"][label]["pearson"],
              "bootstrap": {n: _bootstrap(n) for n in (200_000, 2_000_000)}}
    print(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"\n| rows | wall s | of it training s | peak MB | table MB | beyond the table MB |\n|---|---|---|---|---|---|\n"
          f"| {strains:,} | {wall:.0f} | {metrics['train_seconds']:.0f} | {peak_mb:,.0f} | {table_mb:,.0f} | "
          f"{peak_mb - table_mb:,.0f} |")


def _bootstrap(n: int) -> dict:
    """``bootstrap_intervals`` of one label over ``n`` rows in a fresh process: seconds and peak MB."""
    code = ("import json, resource, time, numpy as np\n"
            "from cellreg.training.metrics import bootstrap_intervals\n"
            f"rng = np.random.default_rng(0); o = rng.normal(size={n}); p = o + rng.normal(size={n})\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "t = time.perf_counter(); bootstrap_intervals(p, o); s = time.perf_counter() - t\n"
            "print(json.dumps({'seconds': round(s, 1), 'peak_mb': round(resource.getrusage(resource.RUSAGE_SELF)"
            ".ru_maxrss / 1024), 'before_mb': round(before / 1024)}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
