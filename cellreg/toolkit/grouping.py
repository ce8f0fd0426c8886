"""Equal keys as groups numbered in order of first appearance: the one primitive behind replicate
merging and split grouping at 20 M rows.

The rows are put in (key, row) order by one ``np.sort`` of 64-bit words that pack the key above the
row number, where its range leaves room (a pair screen's exact set keys: 20 M keys grouped in 2.2 s,
against 5.9 s for pyarrow's ``dictionary_encode``); 64-bit hashes leave none and take an unstable
``argsort`` (4.9 s against 5.6 s). No Python loop, no hash table. Medians of 3 at the commit after
dc0a702, ``python benchmarks/grouping_bench.py``. The random gathers and scatters are split across
the cores (:mod:`cellreg.toolkit.parallel_index`).
"""

from __future__ import annotations

import numpy as np

from cellreg.toolkit.parallel_index import put, take

_TOP = np.uint64(1 << 63)


def first_appearance(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(group [n] int64, first [G] int64)``: ``group[r]`` numbers the distinct key of row r in order
    of first appearance; ``first[g]`` is that group's first row."""
    group, first, _ = _groups(np.asarray(keys), None)
    return group, first


def nested_first_appearance(keys: np.ndarray, divisor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`first_appearance`, plus ``outer [G] int64``: for each group, the group of ``key // divisor``
    it falls in, numbered in order of first appearance too. From the same sort (keys in order are
    their quotients in order): a strain's set and its conditions, grouped both ways at once."""
    return _groups(np.asarray(keys), divisor)


def _groups(keys: np.ndarray, divisor: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    n = len(keys)
    if n < 2:
        every = np.arange(n, dtype=np.int64)
        return every, every, (None if divisor is None else every)
    order, in_order, stable = _order(keys)
    starts = _run_starts(in_order)
    if len(starts) == n and divisor is None:  # all distinct: each row its own group
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64), None
    first_row = take(order, starts) if stable else np.minimum.reduceat(order, starts)  # each run's smallest row
    quotient = None if divisor is None else in_order[starts] // in_order.dtype.type(divisor)  # per run
    del in_order
    number, is_first = _rank(first_row, n)  # each run's number in order of its first row
    group = np.empty(n, np.int64)
    put(group, order, np.repeat(number, np.diff(starts, append=n)))  # runs are consecutive in key order
    del order
    first = np.flatnonzero(is_first)  # the first rows in ascending order are the groups in order
    outer = None if divisor is None else _outer(quotient, number)
    return group, first, outer


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values in ``ordered`` (at least one value) starts."""
    new = np.empty(len(ordered), bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    return np.flatnonzero(new)


def _rank(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each of distinct ``values`` (in ``range(n)``)'s rank among them, and the mark of which of
    ``range(n)`` they are: a mark and a running count, no sort (int32 counts below 2**31 rows: half
    the memory traffic of the gather)."""
    marked = np.zeros(n, bool)
    put(marked, values, True)
    rank = np.cumsum(marked, dtype=np.int32 if n < 2**31 else np.int64)
    out = take(rank, values)
    out -= 1
    return out, marked


def _outer(quotient: np.ndarray, number: np.ndarray) -> np.ndarray:
    """Per group, its outer group: ``quotient`` and ``number`` are per run in key order, so equal
    quotients are consecutive; each outer run is numbered by its earliest group."""
    runs = len(quotient)
    starts = _run_starts(quotient)
    outer_number, _ = _rank(np.minimum.reduceat(number, starts), runs)
    outer = np.empty(runs, np.int64)
    put(outer, number, np.repeat(outer_number, np.diff(starts, append=runs)))
    return outer


def _order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Rows in key order, their keys in that order, and whether rows are ascending within equal keys:
    one sort of packed words where the key's range leaves room beside the row number (the words'
    high bits are then the keys), else an unstable ``argsort``."""
    n = len(keys)
    u, signed = _ordered_uint64(keys)
    low = u.min()
    u -= low
    row_bits = max(int(n - 1).bit_length(), 1)
    if int(u.max()).bit_length() + row_bits > 64:  # 64-bit hashes: no room beside the row
        order = np.argsort(keys)
        return order, keys[order], False
    u <<= np.uint64(row_bits)
    u |= np.arange(n, dtype=np.uint64)
    u.sort()
    order = (u & np.uint64((1 << row_bits) - 1)).astype(np.int64)
    u >>= np.uint64(row_bits)
    u += low
    if signed:
        u ^= _TOP
    return order, u.view(np.int64) if signed else u, True


def _ordered_uint64(keys: np.ndarray) -> tuple[np.ndarray, bool]:
    """Keys as uint64 in the same order (a fresh array), and whether they were signed (then as int64
    with the sign bit flipped: that keeps int64 order)."""
    if keys.dtype == np.uint64:
        return keys.copy(), False
    if not np.issubdtype(keys.dtype, np.integer):
        raise TypeError(f"group keys must be integers, not {keys.dtype}")
    return keys.astype(np.int64).view(np.uint64) ^ _TOP, True
