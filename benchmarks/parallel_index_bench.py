"""Random gathers and scatters of 20 M int64 split across the cores (cellreg/toolkit/parallel_index.py)
against plain numpy, rows kept by a mask (``compress``), a gather of 2 x 20 M int32 gene codes (with the peak of traced memory: ``np.take``
casts a whole int32 index to int64 first), grouping 20 M keys in order of first appearance (cellreg/toolkit/grouping.py)
with them and without, and exact set keys of 20 M pairs in blocks across the cores against one
block (cellreg/data/replicates.py). Medians of ``--repeats`` runs in one process, so compare within a line.

    python benchmarks/parallel_index_bench.py [--rows 20000000] [--repeats 3]
"""

from __future__ import annotations

import tracemalloc

import numpy as np
from grouping_bench import median_seconds, rows_and_repeats  # benchmarks/ is the script's folder, so on its path

from cellreg.data import replicates
from cellreg.toolkit import grouping, parallel_index


def main(argv=None) -> None:
    args = rows_and_repeats(__doc__, argv)
    rng = np.random.default_rng(0)
    n = args.rows
    order, values, target = rng.permutation(n), rng.integers(0, n, n), np.empty(n, np.int64)
    keys = rng.integers(0, 2**35, n).astype(np.int64)
    keys[rng.integers(0, n, n // 8)] = keys[rng.integers(0, n, n // 8)]  # repeats, as replicates
    genes, kinds = rng.integers(0, 6000, 2 * n).astype(np.int32), np.zeros(2 * n, np.int8)
    sizes, condition = np.full(n, 2), rng.integers(0, 4, n).astype(np.int32)
    codes, per_name = genes.copy(), rng.permutation(6000).astype(np.int32)
    labels, kept = rng.normal(size=(n, 3)), rng.random(n) < 0.875  # a replicate merge's kept rows
    into = np.empty((int(kept.sum()), 3), np.float32)
    block = replicates.BLOCK

    def set_keys(rows_per_block: int) -> None:  # one block: whole-array passes on one core
        replicates.BLOCK = rows_per_block
        replicates.exact_set_keys(genes, kinds, sizes, [condition])
        replicates.BLOCK = block

    cases = {
        "gather a[index]": (lambda: values[order], lambda: parallel_index.take(values, order)),
        "gather of int32 codes (np.take)": (lambda: np.take(per_name, codes), lambda: parallel_index.take(per_name, codes)),
        "keep float64 label rows into float32": (lambda: labels[kept].astype(np.float32),
                                                 lambda: parallel_index.compress(kept, labels, into)),
        "scatter a[index] = v": (lambda: target.__setitem__(order, values),
                                 lambda: parallel_index.put(target, order, values)),
        "first_appearance (35-bit keys)": (lambda: grouping.first_appearance(keys),) * 2,
        "runs (35-bit keys)": (lambda: grouping.runs(keys),) * 2,
        "exact_set_keys (pairs, a condition)": (lambda: set_keys(1 << 62), lambda: set_keys(replicates.BLOCK)),
    }
    print(f"{parallel_index._cores()} cores; {n:,} rows\n")
    print("| operation | numpy on one core s | split across the cores s | ratio |")
    print("| --- | --- | --- | --- |")
    default = parallel_index.MIN_SIZE
    for name, (plain, threaded) in cases.items():
        parallel_index.MIN_SIZE = 1 << 62  # never split: plain numpy
        one = median_seconds(plain, args.repeats)
        parallel_index.MIN_SIZE = default
        many = median_seconds(threaded, args.repeats)
        print(f"| {name} | {one:.2f} | {many:.2f} | {one / many:.2f}× |", flush=True)
    plain, threaded = cases["gather of int32 codes (np.take)"]
    print(f"\npeak traced memory of the int32 gather: np.take {peak_mb(plain)} MB, parallel_index.take "
          f"{peak_mb(threaded)} MB (the result is {codes.nbytes >> 20} MB)")


def peak_mb(fn) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak >> 20


if __name__ == "__main__":
    main()
