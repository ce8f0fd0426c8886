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

import attrs
import numpy as np

from cellreg.toolkit.parallel_index import put, take

_TOP = np.uint64(1 << 63)
_BLOCK = 1 << 18


@attrs.frozen
class Runs:
    """Rows cut into runs of equal keys by one sort; runs come in key order."""

    order: np.ndarray  # [n] the rows in key order
    starts: np.ndarray  # [G] where each run starts in ``order``
    first: np.ndarray  # [G] each run's first (smallest) row
    ascending: bool  # whether rows ascend within each run (keys packed beside the row number)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts, append=len(self.order))


def runs(keys: np.ndarray) -> Runs:
    """The runs of equal ``keys``: the sort behind :func:`first_appearance`, without the scatters that
    number every row (replicate means need none)."""
    keys = np.asarray(keys)
    if len(keys) == 0:
        empty = np.zeros(0, np.int64)
        return Runs(empty, empty, empty, True)
    order, in_order, stable = _order(keys)
    starts = _run_starts(in_order)
    del in_order
    first = take(order, starts) if stable else np.minimum.reduceat(order, starts)
    return Runs(order, starts, first, stable)


def first_appearance(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(group [n] int64, first [G] int64)``: ``group[r]`` numbers the distinct key of row r in order
    of first appearance; ``first[g]`` is that group's first row."""
    keys = np.asarray(keys)
    n = len(keys)
    if n < 2:
        every = np.arange(n, dtype=np.int64)
        return every, every
    r = runs(keys)
    if len(r.starts) == n:  # all distinct: each row its own group
        return np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)
    number, is_first = _rank(r.first, n)  # each run's number in order of its first row
    group = np.empty(n, np.int64)
    put(group, r.order, np.repeat(number, r.lengths))  # runs are consecutive in key order
    del r
    first = np.flatnonzero(is_first)  # the first rows in ascending order are the groups in order
    return group, first


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


def _order(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Rows in key order; per row in that order, a value equal exactly where the keys are; and whether
    rows ascend within equal keys. One sort of packed words where the keys' range leaves room beside
    the row number (their high bits then tell the keys apart, their low bits are the rows: nothing
    is unpacked twice), else an unstable ``argsort``."""
    n = len(keys)
    u = _ordered_uint64(keys)
    u -= u.min()
    row_bits = max(int(n - 1).bit_length(), 1)
    if int(u.max()).bit_length() + row_bits > 64:  # 64-bit hashes: no room beside the row
        order = np.argsort(keys)
        return order, keys[order], False
    u <<= np.uint64(row_bits)
    for a in range(0, n, _BLOCK):  # the row numbers a block at a time: no 160 MB arange to fault in
        u[a:a + _BLOCK] |= np.arange(a, min(a + _BLOCK, n), dtype=np.uint64)
    u.sort()
    same = u >> np.uint64(row_bits)
    u &= np.uint64((1 << row_bits) - 1)
    return u.view(np.int64), same, True


def _ordered_uint64(keys: np.ndarray) -> np.ndarray:
    """Keys as a fresh uint64 array in the same order (signed ones with the sign bit flipped)."""
    if keys.dtype == np.uint64:
        return keys.copy()
    if not np.issubdtype(keys.dtype, np.integer):
        raise TypeError(f"group keys must be integers, not {keys.dtype}")
    return np.asarray(keys, np.int64).view(np.uint64) ^ _TOP
