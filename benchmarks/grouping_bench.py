"""Grouping 20 M keys in order of first appearance (cellreg/toolkit/grouping.py) against the ways it
replaced: pyarrow's ``dictionary_encode`` (the hash table used before) and a stable ``argsort``; and
the replicate merge's groups (``Replicates.of_keys``: one sort's tie marks, only repeated keys spelled
out). Keys like a pair screen's exact set keys (35 bits, 2.5 M repeats) and like 64-bit strain hashes.
Medians of ``--repeats`` runs in one process, so compare ratios within a line.

    python benchmarks/grouping_bench.py [--rows 20000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pyarrow as pa

from cellreg.data.replicates import Replicates
from cellreg.toolkit.grouping import first_appearance


def dictionary_encode(keys: np.ndarray) -> np.ndarray:
    return pa.array(keys).dictionary_encode().indices.to_numpy(zero_copy_only=False)


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    return np.argsort(keys, kind="stable")


def median_seconds(fn, repeats: int, *args) -> float:
    """The median wall time of ``repeats`` calls of ``fn(*args)`` (parallel_index_bench.py uses it too)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rows_and_repeats(doc: str, argv=None) -> argparse.Namespace:
    """``--rows`` and ``--repeats``, the two options of this script and parallel_index_bench.py."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = rows_and_repeats(__doc__, argv)
    rng = np.random.default_rng(0)
    n = args.rows
    print("| keys | first_appearance s | dictionary_encode s | stable argsort s (the sort alone) | Replicates.of_keys s |")
    print("| --- | --- | --- | --- | --- |")
    for name, keys in (("exact set keys (35 bits)", rng.integers(0, 2**35, n).astype(np.int64)),
                       ("64-bit hashes", rng.integers(0, 2**64 - 1, n, dtype=np.uint64))):
        keys[rng.integers(0, n, n // 8)] = keys[rng.integers(0, n, n // 8)]  # repeats, as replicates
        row = [median_seconds(f, args.repeats, keys)
               for f in (first_appearance, dictionary_encode, stable_argsort, Replicates.of_keys)]
        print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in row) + " |", flush=True)


if __name__ == "__main__":
    main()
