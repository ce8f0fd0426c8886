"""Where a ``cellreg inspect`` goes: wall seconds inside each stage of the table load, split and checks,
for one run of one config (stages nest, so their times overlap). For the 20 M-row table of
``benchmarks/tables_bench.py --dir D`` (which writes ``D/inspect.toml`` and ``D/inspect_mean.toml``):

    CELLREG_CACHE=/tmp/stage-cache CELLREG_CACHE_MIN_BYTES=0 python benchmarks/inspect_stages.py D/inspect_mean.toml

Empty the cache folder first for a cold run. The fingerprint is hashed on a thread beside the split,
so those two stages overlap. With ``--memory`` it prints instead the peak of traced memory (numpy's
arrays, through ``tracemalloc``) inside each stage of the main thread: where a cold load's peak is.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import threading
import time
import tracemalloc

STAGES = [
    ("cellreg.training.pipeline", "check_table"), ("cellreg.training.pipeline", "select_labels"),
    ("cellreg.training.pipeline", "Pipeline._held_out_edges"), ("cellreg.data.leaks", "leak_report"),
    ("cellreg.commands.inspect", "_labels"), ("cellreg.commands.inspect", "_strains"),
    ("cellreg.data.phenotypes", "PhenotypeTable.summary"), ("cellreg.training.pipeline", "Pipeline.preflight"),
    ("cellreg.toolkit.table_cache", "file_digest"), ("cellreg.toolkit.table_cache", "code_digest"),
    ("cellreg.training.pipeline", "drop_edges"), ("cellreg.data.phenotypes", "PhenotypeTable.used_genes"),
    ("cellreg.data.phenotypes", "PhenotypeTable.select"), ("cellreg.training.pipeline", "Pipeline.from_file"),
    ("cellreg.toolkit.columnar", "ColumnFile.read"), ("cellreg.toolkit.columnar", "scan"),
    ("cellreg.toolkit.columnar", "dictionary"), ("cellreg.data.strain_rows", "_columns"),
    ("cellreg.data.strain_rows", "_entries"), ("cellreg.data.strain_table", "_Reader.load"),
    ("cellreg.data.strain_table", "_Reader._build"), ("cellreg.data.strain_table", "_Reader._collapse_repeats"),
    ("cellreg.data.strain_table", "_Reader._aggregate"), ("cellreg.data.strain_table", "_to_cache"),
    ("cellreg.toolkit.table_cache", "Entry.save"), ("cellreg.data.replicates", "replicates"),
    ("cellreg.data.replicates", "Replicates.means"), ("cellreg.toolkit.grouping", "first_appearance"),
    ("cellreg.data.phenotypes", "PhenotypeTable.fingerprint"), ("cellreg.data.splits", "make_split"),
    ("cellreg.data.splits", "_deal"), ("cellreg.data.splits", "_parts"), ("cellreg.data.replicates", "exact_set_keys"),
    ("cellreg.toolkit.grouping", "runs"), ("cellreg.data.splits", "_hashed"),
    ("cellreg.training.pipeline", "check_measured"), ("cellreg.data.phenotypes", "PhenotypeTable._content_hash"),
    ("cellreg.data.text_columns", "Category.canonical"), ("cellreg.toolkit.hashing", "Hasher.update_array"),
]


def timed(seconds: dict, module: str, qualname: str) -> None:
    """Replace ``module.qualname`` by a wrapper adding its wall time to ``seconds[qualname]``."""
    owner = importlib.import_module(module)
    *parents, name = qualname.split(".")
    for part in parents:
        owner = getattr(owner, part)
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            seconds[qualname] = seconds.get(qualname, 0.0) + time.perf_counter() - t0

    setattr(owner, name, wrapper)


def traced(peaks: dict, stack: list, module: str, qualname: str) -> None:
    """Replace ``module.qualname`` by a wrapper noting in ``peaks[qualname]`` the highest traced memory
    inside it on the main thread (an inner stage's peak is its enclosing stages' too)."""
    owner = importlib.import_module(module)
    *parents, name = qualname.split(".")
    for part in parents:
        owner = getattr(owner, part)
    fn = getattr(owner, name)

    def seen(peak: int) -> None:
        for frame in stack:
            frame[0] = max(frame[0], peak)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return fn(*args, **kwargs)
        seen(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()
        stack.append([0])
        try:
            return fn(*args, **kwargs)
        finally:
            mine = max(stack.pop()[0], tracemalloc.get_traced_memory()[1])
            peaks[qualname] = max(peaks.get(qualname, 0), mine)
            seen(mine)
            tracemalloc.reset_peak()

    setattr(owner, name, wrapper)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--memory", action="store_true", help="the peak of traced memory per stage, not seconds")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {}
    stack: list = []
    for module, qualname in STAGES:
        if args.memory:
            traced(peaks, stack, module, qualname)
        else:
            timed(seconds, module, qualname)
    from cellreg.commands.inspect import inspect  # callers look these names up when they call them
    from cellreg.toolkit.process_memory import tune_process_memory

    tune_process_memory()  # as the command line does
    if args.memory:
        tracemalloc.start()
    imports = time.perf_counter() - t0
    t0 = time.perf_counter()
    inspect(args.config)
    print(f"imports {imports:.2f} s, inspect {time.perf_counter() - t0:.2f} s")
    if args.memory:
        print("peak traced memory inside each stage (MB):")
        for name, peak in sorted(peaks.items(), key=lambda kv: -kv[1]):
            print(f"  {name:40s} {peak / 2**20:8.0f}")
        return
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {name:40s} {s:6.2f}")


if __name__ == "__main__":
    main()
