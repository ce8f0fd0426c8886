"""Tables at scale: load time and peak memory of a Costanzo-format strain table and a STRING
``protein.links.detailed`` file, against ``pyarrow.csv.read_csv`` of the same file alone, and the
cached second load against the first.

Every measurement runs in a fresh subprocess (peak RSS = that process's ``ru_maxrss``); the files
are generated into a temporary folder (about 75 bytes per Costanzo row, 45 per STRING line).

    nice .venv/bin/python benchmarks/tables_bench.py                      # 20 M rows, 10 M lines
    nice .venv/bin/python benchmarks/tables_bench.py --rows 200000 --lines 100000 --repeats 1
    nice .venv/bin/python benchmarks/tables_bench.py --rows 20000000 --lines 0 --inspect --dir /tmp/t   # cellreg inspect

``--inspect``: the ``cellreg inspect`` program on a config reading the Costanzo file (graph, table,
random split, label summary), end to end (the wall time of its process, start, imports and exit
included; read_csv's child likewise), cold (empty cache) and warm (the table and the split from the
cache), against ``read_csv`` alone; with ``--aggregate`` also with ``aggregate = "mean"``.

Every timed child of ``--inspect`` follows an untimed ``read_csv`` of the same file (``--no-prime``
leaves it out). On a virtual machine whose host takes back the memory a process frees, a process
that allocates gigabytes runs 1.5-2.5x slower when the one before it freed little (the kernel spends
seconds on page faults), so without the primer the order of the children decides the ratio: each
``read_csv`` followed a small warm inspect, and each cold inspect a ``read_csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COSTANZO_COLUMNS = ["Query Strain ID", "Query allele name", "Array Strain ID", "Array allele name", "Arraytype/Temp",
                    "Genetic interaction score (ε)", "P-value", "Query single mutant fitness (SMF)", "Array SMF",
                    "Double mutant fitness", "Double mutant fitness standard deviation"]
LABELS = ["Genetic interaction score (ε)", "P-value", "Double mutant fitness"]
STRING_COLUMNS = ["protein1", "protein2", "neighborhood", "fusion", "cooccurence", "coexpression", "experimental",
                  "database", "textmining", "combined_score"]
CHUNK = 1_000_000


def yeast_genes(n: int = 6000) -> list[str]:
    """Systematic-looking names: Y + chromosome letter + arm + 3 digits + strand (YAL001C)."""
    out = []
    for i in range(n):
        chrom, arm, num, strand = "ABCDEFGHIJKLMNOP"[i % 16], "LR"[(i // 16) % 2], 1 + i // 32, "CW"[i % 2]
        out.append(f"Y{chrom}{arm}{num:03d}{strand}")
    return out


def _write(path: Path, header: str, table, delimiter: str) -> None:
    import pyarrow.csv as csv

    with open(path, "ab") as f:
        csv.write_csv(table, f, csv.WriteOptions(include_header=False, delimiter=delimiter, quoting_style="none"))


def make_costanzo(path: Path, rows: int, genes: list[str], seed: int = 0) -> None:
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    path.write_text("\t".join(COSTANZO_COLUMNS) + "\n", encoding="utf-8")
    g = np.asarray(genes, dtype=object)
    suffix = np.asarray(["_dma1", "_dma2", "_tsq2", "_tsa508", "_sn1", "_damp3"], dtype=object)
    screens = np.asarray(["DMA30", "DMA26", "TSA30", "TSA26"], dtype=object)
    allele = np.asarray([x.lower() for x in genes], dtype=object)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        q, a = rng.integers(0, len(genes), n), rng.integers(0, len(genes), n)
        sq, sa = rng.integers(0, len(suffix), n), rng.integers(0, 2, n)
        cols = [g[q] + suffix[sq], allele[q], g[a] + suffix[sa], allele[a], screens[rng.integers(0, 4, n)]]
        nums = [rng.normal(0, 0.08, n), rng.uniform(0, 1, n), rng.uniform(0.5, 1.1, n), rng.uniform(0.5, 1.1, n),
                rng.uniform(0.2, 1.1, n), rng.uniform(0, 0.1, n)]
        arrays = [pa.array(c.tolist(), pa.string()) for c in cols] + [pa.array(np.round(x, 4)) for x in nums]
        _write(path, "", pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]), "\t")


def make_string(path: Path, lines: int, genes: list[str], seed: int = 1) -> None:
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    path.write_text(" ".join(STRING_COLUMNS) + "\n")
    ids = np.asarray([f"4932.{x}" for x in genes], dtype=object)
    for start in range(0, lines, CHUNK):
        n = min(CHUNK, lines - start)
        a = rng.integers(0, len(genes), n)
        b = (a + rng.integers(1, len(genes), n)) % len(genes)
        scores = [np.where(rng.uniform(size=n) < p, rng.integers(40, 1000, n), 0) for p in
                  (0.1, 0.01, 0.02, 0.5, 0.3, 0.05, 0.6)]
        combined = np.maximum.reduce(scores) + rng.integers(0, 100, n)
        arrays = [pa.array(ids[a].tolist()), pa.array(ids[b].tolist())] + [pa.array(s) for s in scores + [combined]]
        _write(path, "", pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))]), " ")


# --- children: one measurement each ------------------------------------------------------------


def child(task: dict) -> dict:
    # pyarrow parses on its default thread pool (every core) in every child, read_csv's and ours alike,
    # unless --threads sets OMP_NUM_THREADS. Until 82d36f5 every child set OMP_NUM_THREADS=1, which
    # pyarrow obeys: both sides then parsed on one thread.
    import pyarrow.csv as csv  # imports are not timed, for both

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = Path(task["path"])
    if task["what"] == "read_csv":
        opts = csv.ParseOptions(delimiter="\t" if task["kind"] == "costanzo" else " ")
        t0 = time.perf_counter()
        table = csv.read_csv(path, parse_options=opts)
        seconds = time.perf_counter() - t0
        n = table.num_rows
    else:
        import torch

        torch.set_num_threads(1)
        from cellreg import Context
        from cellreg.config import structure
        from cellreg.data import replicates, strain_rows  # noqa: F401 - imported lazily by the readers
        from cellreg.data.graph import CellGraph
        from cellreg.data.strain_table import TableConfig, load_strain_table
        from cellreg.toolkit import columnar, table_cache  # noqa: F401
        from cellreg_files import edge_columns  # noqa: F401
        from cellreg_files.configs import EdgeListConfig
        from cellreg_files.edges import EdgeListSource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        errors: list[str] = []
        if task["kind"] == "costanzo":
            graph = CellGraph.from_edges(task["genes"], [])
            options = {"path": str(path), "gene_columns": ["Query Strain ID", "Array Strain ID"], "strip_suffix": "_",
                       "labels": LABELS, **task.get("options", {})}
            config = structure(options, TableConfig, "phenotypes", errors)
            t0 = time.perf_counter()
            table, stats = load_strain_table(path, graph, config, task.get("engine", "auto"))
            seconds = time.perf_counter() - t0
            n = table.num_strains
        else:
            options = {"files": [{"path": str(path), "relation": "combined", "weight": "combined_score",
                                  "strip_prefix": "4932."}]}
            config = structure(options, EdgeListConfig, "graph", errors)
            t0 = time.perf_counter()
            graph = EdgeListSource(config, Context(base_dir=path.parent)).load(task.get("engine", "auto"))
            seconds = time.perf_counter() - t0
            n = graph.num_edges
        assert not errors, errors
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": peak / 1024, "before_mb": before / 1024, "n": n}


def measure(task: dict, cache: str | None, prime: bool = False) -> dict:
    env = {**os.environ, "CELLREG_CACHE": cache or "off", "CELLREG_CACHE_MIN_BYTES": "0"}
    if prime:  # the same state of memory before every timed child (see the module docstring)
        subprocess.run([sys.executable, __file__, "--child", json.dumps({**task, "what": "read_csv"})], env=env,
                       check=True, capture_output=True)
    if task["what"] == "inspect":
        return _program(["inspect", task["config"]], env)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(task)], env=env, check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0  # the whole process: start-up and imports too
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall": wall}


def _program(args: list[str], env: dict) -> dict:
    """The ``cellreg`` program itself, as a user runs it (its start, imports and exit included): its
    wall time, its peak RSS, and the strains its report counts."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "cellreg.commands.cli", *args], env=env, stdout=out,
                                stderr=subprocess.DEVNULL, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"cellreg {' '.join(args)} failed ({os.waitstatus_to_exitcode(status)})")
        out.seek(0)
        text = out.read()
    n = int(text.split(" strains over ")[0].rsplit("\n", 1)[-1].strip().replace(",", ""))
    return {"wall": wall, "peak_mb": usage.ru_maxrss / 1024, "n": n}


def run(kind: str, path: Path, genes: list[str], repeats: int, root: Path, options: dict | None = None) -> dict:
    task = {"kind": kind, "path": str(path), "genes": genes, "options": options or {}}
    rows = {"read_csv": [], "load": [], "first": [], "cached": []}
    for r in range(repeats):
        rows["read_csv"].append(measure({**task, "what": "read_csv"}, None))
        rows["load"].append(measure({**task, "what": "load"}, None))
        cache = root / f"cache-{kind}-{r}"
        rows["first"].append(measure({**task, "what": "load"}, str(cache)))
        rows["cached"].append(measure({**task, "what": "load"}, str(cache)))
        shutil.rmtree(cache, ignore_errors=True)
        print(f"  {kind} repeat {r + 1}: " + ", ".join(f"{k} {v[-1]['seconds']:.1f} s" for k, v in rows.items()),
              flush=True)
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("seconds", "peak_mb", "before_mb")}
           for k, v in rows.items()}
    med["n"] = rows["load"][0]["n"]
    return med


RUN_CONFIG = """name = "{name}"
[graph]
name = "edge_list"
genes = "genes.txt"
files = [{{ path = "edges.tsv", relation = "physical" }}]
[phenotypes]
name = "table"
path = "{path}"
gene_columns = ["Query Strain ID", "Array Strain ID"]
strip_suffix = "_"
labels = {labels}
{extra}
[split]
kind = "random"
[model.encoder]
name = "gene_embedding"
dim = 32
[model.head]
name = "sum_mlp"
hidden = 64
{tail}"""


def write_run_config(root: Path, path: Path, name: str, extra: str = "", tail: str = "") -> Path:
    """A run config reading the Costanzo-format file ``path`` against the generated vocabulary (and a
    one-relation graph over it), ``extra`` lines in [phenotypes], ``tail`` after the model."""
    genes = yeast_genes()
    (root / "genes.txt").write_text("\n".join(genes) + "\n")
    (root / "edges.tsv").write_text("".join(f"{genes[i]}\t{genes[(7 * i + 1) % len(genes)]}\n" for i in range(len(genes))))
    config = root / f"{name}.toml"
    config.write_text(RUN_CONFIG.format(name=name, path=path, labels=json.dumps(LABELS, ensure_ascii=False),
                                        extra=extra, tail=tail))
    return config


def run_inspect(path: Path, genes: list[str], repeats: int, root: Path, aggregate: bool, prime: bool) -> dict:
    """``inspect`` cold (first, empty cache) and warm (medians of ``repeats``), and read_csv alone,
    each after a primer ``read_csv`` with ``prime``."""
    extra = 'conditions = ["Arraytype/Temp"]\naggregate = "mean"' if aggregate else ""
    config = write_run_config(root, path, f"inspect{'_mean' if aggregate else ''}", extra)
    task = {"kind": "costanzo", "path": str(path), "config": str(config), "genes": []}
    rows = {"read_csv": [], "cold": [], "warm": []}
    for r in range(repeats):
        cache = root / f"cache-inspect-{r}"
        shutil.rmtree(cache, ignore_errors=True)
        rows["read_csv"].append(measure({**task, "what": "read_csv"}, None, prime))
        rows["cold"].append(measure({**task, "what": "inspect"}, str(cache), prime))
        rows["warm"].append(measure({**task, "what": "inspect"}, str(cache), prime))
        shutil.rmtree(cache, ignore_errors=True)
        print(f"  inspect{' (mean)' if aggregate else ''} repeat {r + 1}: " +
              ", ".join(f"{k} {v[-1]['wall']:.1f} s" for k, v in rows.items()), flush=True)
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("wall", "peak_mb")} for k, v in rows.items()}
    med["n"] = rows["cold"][0]["n"]
    return med


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000, help="Costanzo-format rows")
    parser.add_argument("--lines", type=int, default=10_000_000, help="STRING detailed lines")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", help="where to generate the files (default: a temporary folder, removed after)")
    parser.add_argument("--aggregate", action="store_true",
                        help="also the Costanzo load with conditions = [Arraytype/Temp], aggregate = mean")
    parser.add_argument("--inspect", action="store_true",
                        help="time `cellreg inspect` of the Costanzo file instead (cold, warm; with --aggregate too)")
    parser.add_argument("--threads", type=int, default=0,
                        help="pyarrow threads in every child (OMP_NUM_THREADS; default: pyarrow's, every core)")
    parser.add_argument("--no-prime", dest="prime", action="store_false",
                        help="--inspect: no untimed read_csv before each timed child")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the children inherit it
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="cellreg-tables-"))
    root.mkdir(parents=True, exist_ok=True)
    genes = yeast_genes()
    try:
        results = {}
        for kind, n, make in (("costanzo", args.rows, make_costanzo), ("string", args.lines, make_string)):
            if n <= 0:
                continue
            path = root / ("SGA_ExE.txt" if kind == "costanzo" else "4932.protein.links.detailed.v12.0.txt")
            if not path.exists():
                t0 = time.perf_counter()
                make(path, n, genes)
                print(f"{path.name}: {n:,} rows, {path.stat().st_size / 1e9:.2f} GB, "
                      f"written in {time.perf_counter() - t0:.0f} s", flush=True)
            if kind == "costanzo" and args.inspect:
                print("\n| command | strains | read_csv s | cold s (peak MB) | cold / read_csv | warm s (peak MB) | "
                      "warm / read_csv |\n| --- | --- | --- | --- | --- | --- | --- |")
                for agg in ([False, True] if args.aggregate else [False]):
                    m = run_inspect(path, genes, args.repeats, root, agg, args.prime)
                    rc, cold, warm = m["read_csv"]["wall"], m["cold"]["wall"], m["warm"]["wall"]  # end to end
                    print(f"| inspect{', aggregate = mean' if agg else ''} | {m['n']:,} | {rc:.1f} | "
                          f"{cold:.1f} ({m['cold']['peak_mb']:,.0f}) | {cold / rc:.2f}× | "
                          f"{warm:.1f} ({m['warm']['peak_mb']:,.0f}) | {warm / rc:.2f}× |", flush=True)
                continue
            results[kind] = run(kind, path, genes, args.repeats, root)
            if kind == "costanzo" and args.aggregate:
                results["costanzo, aggregate = mean"] = run(
                    kind, path, genes, 1, root, {"conditions": ["Arraytype/Temp"], "aggregate": "mean"})
        if not results:
            return
        print(f"\n| file | rows | read_csv s (peak MB) | load s (peak MB) | load / read_csv | "
              f"first load with cache s | cached s | first / cached |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for kind, m in results.items():
            rc, ld, fi, ca = m["read_csv"], m["load"], m["first"], m["cached"]
            print(f"| {kind} | {m['n']:,} | {rc['seconds']:.1f} ({rc['peak_mb']:,.0f}) | "
                  f"{ld['seconds']:.1f} ({ld['peak_mb']:,.0f}) | {ld['seconds'] / rc['seconds']:.2f}× | "
                  f"{fi['seconds']:.1f} | {ca['seconds']:.2f} ({ca['peak_mb']:,.0f}) | "
                  f"{fi['seconds'] / ca['seconds']:.0f}× |")
        print(f"\n(rows: strains or edges after the load; peak MB includes the interpreter and imports, "
              f"{results[next(iter(results))]['load']['before_mb']:,.0f} MB before the load)")
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
