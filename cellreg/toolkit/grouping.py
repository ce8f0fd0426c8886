"""Equal keys as groups numbered in order of first appearance: the one primitive behind replicate
merging and split grouping at 20 M rows.

One unstable ``argsort`` (SIMD-sorted in numpy) and a few gathers, no Python loop and no hash table:
at 20 M int64 keys with 2.5 M repeats it takes 3.7 s where pyarrow's ``dictionary_encode`` took 5.0 s
(``benchmarks/tables_bench.py``). Keys that are all distinct, the common case, are found by one
``np.sort`` (0.2 s) and skip the rest.
"""

from __future__ import annotations

import numpy as np


def first_appearance(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(group [n] int64, first [G] int64)``: ``group[r]`` numbers the distinct key of row r in order
    of first appearance; ``first[g]`` is that group's first row."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2 or _all_distinct(keys):
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    order = np.argsort(keys)
    ordered = keys[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    first_row = np.minimum.reduceat(order, starts)  # the unstable sort loses order within a run: take its min
    is_first = np.zeros(n, bool)
    is_first[first_row] = True
    number = (np.cumsum(is_first) - 1)[first_row]  # each sorted run's number in order of its first row
    group = np.empty(n, np.int64)
    group[order] = number[np.cumsum(new) - 1]
    first = np.empty(len(starts), np.int64)
    first[number] = first_row
    return group, first


def _all_distinct(keys: np.ndarray) -> bool:
    ordered = np.sort(keys)
    return not bool(np.any(ordered[1:] == ordered[:-1]))
