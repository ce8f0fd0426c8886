"""Equal keys as groups numbered in order of first appearance: the one primitive behind replicate
merging and split grouping at 20 M rows.

The rows are put in (key, row) order by one ``np.sort`` of 64-bit words that pack the key above the
row number, where its range leaves room (a pair screen's exact set keys: 20 M keys grouped in 1.1 s,
against 4.9 s for pyarrow's ``dictionary_encode``); 64-bit hashes leave none and take an unstable
``argsort``, whose repeated keys alone are put back in row order (4.6 s against 7.0 s). The sort
also marks which rows repeat the key before them (:class:`Sorted`), all the replicate merge needs.
No Python loop, no hash table. Medians of 3 at ac36e4e, ``python benchmarks/grouping_bench.py``. The
random gathers and scatters are split across the cores (:mod:`cellreg.toolkit.parallel_index`).
"""

from __future__ import annotations

import attrs
import numpy as np

from cellreg.toolkit.parallel_index import each_block, put, take

_BLOCK = 1 << 18


@attrs.frozen
class Runs:
    """Rows cut into runs of equal keys by one sort; runs come in key order."""

    order: np.ndarray  # [n] the rows in key order
    starts: np.ndarray  # [G] where each run starts in ``order``
    first: np.ndarray  # [G] each run's first (smallest) row

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts, append=len(self.order))


def runs(keys: np.ndarray) -> Runs:
    """The runs of equal ``keys``: the sort behind :func:`first_appearance`, without the scatters that
    number every row (replicate means need none)."""
    s = sort(keys)
    starts = np.flatnonzero(~s.tie)
    return Runs(s.order, starts, take(s.order, starts))


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


@attrs.frozen
class Sorted:
    """Rows in key order, ascending within equal keys, and which of them repeat the key before them."""

    order: np.ndarray  # [n] the rows in key order
    tie: np.ndarray  # [n] bool: row ``order[i]`` has the key of ``order[i - 1]`` (never the first)


def sort(keys: np.ndarray) -> Sorted:
    """One sort of packed words where the keys' range leaves room beside the row number (their high
    bits then tell the keys apart, their low bits are the rows: nothing is unpacked twice), else an
    unstable ``argsort`` whose repeated keys alone are put back in row order."""
    keys = np.asarray(keys)
    if not np.issubdtype(keys.dtype, np.integer):
        raise TypeError(f"group keys must be integers, not {keys.dtype}")
    if keys.dtype.itemsize != 8:
        keys = keys.astype(np.int64)
    n = len(keys)
    tie = np.zeros(n, bool)
    if n == 0:
        return Sorted(np.zeros(0, np.int64), tie)
    row_bits = max(int(n - 1).bit_length(), 1)
    low, high = int(keys.min()), int(keys.max())
    if (high - low).bit_length() + row_bits > 64:  # 64-bit hashes: no room beside the row
        order = np.argsort(keys)
        ordered = keys[order]
        np.equal(ordered[1:], ordered[:-1], out=tie[1:])
        del ordered
        repeated = np.flatnonzero(tie | np.append(tie[1:], False))  # the places of keys seen more than once
        rows = order[repeated]
        order[repeated] = rows[np.lexsort((rows, np.cumsum(~tie[repeated])))]
        return Sorted(order, tie)
    words = _packed(keys, low, row_bits)
    words.sort()
    one_key = np.uint64(1 << row_bits)

    def ties(a: int) -> None:  # the same key: only the rows differ (a block at a time: no 160 MB temporary)
        w = words[a:a + _BLOCK + 1]
        np.less(w[1:] ^ w[:-1], one_key, out=tie[a + 1:a + len(w)])

    def rows(a: int) -> None:
        words[a:a + _BLOCK] &= one_key - np.uint64(1)

    each_block(ties, n, _BLOCK)  # every tie is read off the words before any word is cut to its row
    each_block(rows, n, _BLOCK)
    return Sorted(words.view(np.int64), tie)


def _packed(keys: np.ndarray, low: int, row_bits: int) -> np.ndarray:
    """``(key - low) << row_bits | row`` as uint64, a block at a time across the cores (one pass over
    the keys, each block's steps in the cache)."""
    n = len(keys)
    words = np.empty(n, np.uint64)
    low = keys.dtype.type(low)  # the difference wraps in the keys' own type to its exact uint64 value
    shift = np.uint64(row_bits)

    def block(a: int) -> None:
        out = words[a:a + _BLOCK]
        np.subtract(keys[a:a + _BLOCK], low, out=out.view(keys.dtype), casting="unsafe")
        out <<= shift
        out |= np.arange(a, a + len(out), dtype=np.uint64)

    each_block(block, n, _BLOCK)
    return words
