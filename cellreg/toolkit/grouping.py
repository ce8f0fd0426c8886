"""Equal keys as groups numbered in order of first appearance: the one primitive behind replicate
merging and split grouping at 20 M rows.

The rows are put in (key, row) order by one ``np.sort`` of 64-bit words that pack the key above the
row number, where its range leaves room (a pair screen's exact set keys: 20 M keys grouped in 2.1 s,
against 5.1 s for pyarrow's ``dictionary_encode``); 64-bit hashes leave none and take an unstable
``argsort`` (5.1 s, level with ``dictionary_encode``). No Python loop, no hash table.
``python benchmarks/grouping_bench.py``.
"""

from __future__ import annotations

import numpy as np

_TOP = np.uint64(1 << 63)


def first_appearance(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(group [n] int64, first [G] int64)``: ``group[r]`` numbers the distinct key of row r in order
    of first appearance; ``first[g]`` is that group's first row."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2:
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    order, stable = _order(keys)
    ordered = keys[order]
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    if len(starts) == n:  # all distinct: each row its own group
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    first_row = order[starts] if stable else np.minimum.reduceat(order, starts)  # each run's smallest row
    is_first = np.zeros(n, bool)
    is_first[first_row] = True
    number = (np.cumsum(is_first) - 1)[first_row]  # each run's number in order of its first row
    group = np.empty(n, np.int64)
    group[order] = number[np.cumsum(new) - 1]
    first = np.empty(len(starts), np.int64)
    first[number] = first_row
    return group, first


def _order(keys: np.ndarray) -> tuple[np.ndarray, bool]:
    """Rows in key order, and whether rows are ascending within equal keys: one sort of packed words
    where the key's range leaves room beside the row number, else an unstable ``argsort``."""
    n = len(keys)
    u = _ordered_uint64(keys)
    u -= u.min()
    row_bits = max(int(n - 1).bit_length(), 1)
    if int(u.max()).bit_length() + row_bits > 64:  # 64-bit hashes: no room beside the row
        return np.argsort(keys), False
    u <<= np.uint64(row_bits)
    u |= np.arange(n, dtype=np.uint64)
    u.sort()
    return (u & np.uint64((1 << row_bits) - 1)).astype(np.int64), True


def _ordered_uint64(keys: np.ndarray) -> np.ndarray:
    """Keys as uint64 in the same order (a fresh array)."""
    if keys.dtype == np.uint64:
        return keys.copy()
    if not np.issubdtype(keys.dtype, np.integer):
        raise TypeError(f"group keys must be integers, not {keys.dtype}")
    return keys.astype(np.int64).view(np.uint64) ^ _TOP  # flipping the sign bit keeps int64 order
