"""Gathers and scatters of tens of millions of random indices, split across threads.

Each is bound by memory latency, numpy releases the GIL for them, and a second core nearly halves
one. 20 M int64 on 2 cores: a gather 0.31 → 0.17 s, a scatter 0.26 → 0.13 s; grouping 20 M keys in
order of first appearance, which does several of each, 1.80 → 1.37 s, and both ways at once 3.12 →
1.98 s (``python benchmarks/parallel_index_bench.py``, medians of 3). Below :data:`MIN_SIZE`
indices, or with one core, they are plain numpy.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import numpy as np

MIN_SIZE = 1 << 20
"""Fewer indices than this are not worth a thread's start."""


def _cores() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # not Linux
        return max(1, min(os.cpu_count() or 1, 8))


@functools.lru_cache(maxsize=1)
def pool() -> ThreadPoolExecutor:
    """One thread per core, shared by every caller that splits numpy work (which lets go of the GIL)."""
    return ThreadPoolExecutor(_cores(), thread_name_prefix="cellreg-index")


def _pieces(n: int) -> list[slice]:
    k = _cores() if n >= MIN_SIZE else 1
    step = -(-n // k) if n else 1
    return [slice(i, min(i + step, n)) for i in range(0, n, step)] or [slice(0, 0)]


def beside(fn: Callable[[], object], name: str = "cellreg-beside") -> Future:
    """``fn()`` on a thread of its own while the caller goes on (not on the pool: ``fn`` may split its
    work across the pool, whose threads would otherwise wait on their own queue)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # the caller's result() raises it
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def spread(fn: Callable[[slice], None], n: int) -> None:
    """``fn(piece)`` for contiguous pieces of ``range(n)``, one per core (one piece below
    :data:`MIN_SIZE`)."""
    pieces = _pieces(n)
    if len(pieces) == 1:
        fn(pieces[0])
    else:
        list(pool().map(fn, pieces))


def each_block(fn: Callable[[int], None], n: int, size: int) -> None:
    """``fn(start)`` for each block of ``size`` rows of ``range(n)``, the blocks across the cores (work
    whose steps stay in the cache a block at a time)."""
    starts = range(0, n, size)
    if len(starts) > 1:
        list(pool().map(fn, starts))
    elif n:
        fn(0)


TAKE_BLOCK = 1 << 20
"""Indices per step of :func:`take`: each step's index cast stays small."""


def take(a: np.ndarray, index: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a[index]`` for a 1-D ``a`` (into ``out`` when given: a strided column too), a block of
    indices at a time across the cores. ``np.take`` casts a whole int32 index to int64 first: 40 M
    gene codes took 0.13 s and 457 MB at the peak, in blocks 0.06 s and 176 MB, the result 152 MB
    (``python benchmarks/parallel_index_bench.py``, medians of 5)."""
    n = len(index)
    if out is None:
        if n < MIN_SIZE or _cores() == 1:
            return a[index]
        out = np.empty(n, a.dtype)

    contiguous = out.flags.c_contiguous  # np.take copies a strided out in and back: a block's copy is cheaper

    def block(start: int) -> None:
        part = slice(start, start + TAKE_BLOCK)
        at = index[part].astype(np.intp, copy=False, casting="same_kind")  # an index of floats is an error
        if contiguous:
            np.take(a, at, out=out[part])
        else:
            out[part] = np.take(a, at)

    each_block(block, n, TAKE_BLOCK)
    return out


def put(a: np.ndarray, index: np.ndarray, values) -> None:
    """``a[index] = values`` for a 1-D ``a``; ``values`` as long as ``index``, or one value. Where
    ``index`` repeats with different values, which one is kept is undefined (as in numpy)."""
    one = np.ndim(values) == 0

    def part(s: slice) -> None:
        a[index[s]] = values if one else values[s]

    spread(part, len(index))


def marked(index: np.ndarray, n: int) -> np.ndarray:
    """[n] bool: which of ``range(n)`` the index holds (a vocabulary's used genes, a column's used
    values). Each core marks its own copy: one shared array of a few thousand bytes is written back
    and forth between the cores."""
    parts: list[np.ndarray] = []

    def mark(piece: slice) -> None:
        used = np.zeros(n, bool)
        used[index[piece]] = True
        parts.append(used)

    spread(mark, len(index))
    return np.logical_or.reduce(parts)


COMPRESS_BLOCK = 1 << 16
"""Rows per step of :func:`compress`: its temporary stays in the cache."""


def compress(mask: np.ndarray, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``rows[mask]`` (into ``out`` when given, cast to its type) a block of rows at a time, the
    blocks across the cores: no temporary as large as the result (7/8 of 20 M float64 label rows kept
    into float32: 0.08 s, against 0.42 s for numpy's boolean index and cast; ``python
    benchmarks/parallel_index_bench.py``, medians of 5)."""
    step = COMPRESS_BLOCK
    # where each block's rows go: a count per block (np.add.reduceat over the mask was 10x slower)
    at = np.cumsum([0] + [np.count_nonzero(mask[a:a + step]) for a in range(0, len(mask), step)])
    if out is None:
        out = np.empty((int(at[-1]),) + rows.shape[1:], rows.dtype)

    def block(a: int) -> None:  # np.compress, then a cast into place (np.compress casting into out: 3x slower;
        i, block_rows = a // step, slice(a, a + step)  # a boolean index of a block of rows: 2.7x slower)
        out[at[i]:at[i + 1]] = np.compress(mask[block_rows], rows[block_rows], axis=0)

    each_block(block, len(mask), step)
    return out
