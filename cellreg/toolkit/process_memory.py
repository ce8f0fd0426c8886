"""How the command line's process gets memory for 20 M-row arrays: from memory it already has.

A 20 M-row load makes hundreds of fresh arrays of 80–480 MB, and the kernel zeroes every page of
each at first touch. Two defaults make that slower than it needs to be:

* numpy asks for transparent huge pages for every array of 4 MB or more (``madvise``). Where the
  kernel compacts memory on the spot to find one (``/sys/kernel/mm/transparent_hugepage/defrag``
  set to ``madvise``, Debian's and Ubuntu's default, ``defer+madvise`` or ``always``), first touches
  stall in that compaction.
* glibc's ``malloc`` hands every block over 32 MB back to the kernel when it is freed, so the next
  array of that size is faulted in and zeroed again; and it gives each thread that allocates an
  arena of its own, so what a worker thread freed (the gathers and conversions split across the
  cores) is not reused by the main thread's next array.

The command line (``cellreg ...``, not a library caller) turns numpy's request off on such kernels
and keeps freed blocks for reuse (``mallopt``: no ``mmap`` for large blocks, the heap trimmed only
beyond 2 GB free, one arena for every thread): a cold ``cellreg inspect`` of the 20 M-row table
spends seconds less in the kernel (docs/benchmarks.md), for a peak a few per cent higher. The
environment variables of numpy (``NUMPY_MADVISE_HUGEPAGE``) and glibc (``MALLOC_MMAP_MAX_``,
``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_ARENA_MAX``) keep the user's choice.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

import numpy as np

DEFRAG = Path("/sys/kernel/mm/transparent_hugepage/defrag")
STALLING = ("always", "madvise", "defer+madvise")  # the settings that compact on a madvised fault
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8  # glibc's mallopt parameters (malloc.h)
TRIM_ABOVE = 2**31 - 1  # bytes free at the heap's top before glibc hands them back (the most an int holds)


def kernel_stalls(defrag: Path = DEFRAG) -> bool:
    """Whether a huge page numpy asks for is made by compacting memory at first touch."""
    try:
        text = defrag.read_text()
    except OSError:
        return False
    chosen = text[text.find("[") + 1:text.find("]")] if "[" in text else text.strip()
    return chosen in STALLING


def avoid_stalling_huge_pages(defrag: Path = DEFRAG) -> bool:
    """Turn numpy's huge-page request off where the kernel would stall for it, unless the
    environment sets ``NUMPY_MADVISE_HUGEPAGE``; whether it was turned off."""
    multiarray = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ or not kernel_stalls(defrag):
        return False
    setter(False)
    return True


def keep_freed_memory(libc_name: str | None = "c") -> bool:
    """Ask glibc to serve large blocks from memory the process already has and never hand freed
    memory back, unless the environment sets either parameter; whether it did (False off glibc)."""
    if any(v in os.environ for v in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX")):
        return False
    path = ctypes.util.find_library(libc_name) if libc_name else None
    if path is None:
        return False
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # one arena: 20 M-row arrays are few and large, so threads hardly contend for it (a cold inspect of
    # the 20 M-row table with `aggregate = "mean"` faulted in 1.14 M pages after its parse with an arena
    # per thread, 0.79 M with one; 11.2-11.4 s -> 10.4-10.7 s, two runs each)
    return all(mallopt(option, value) for option, value in
               ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, TRIM_ABOVE), (M_ARENA_MAX, 1)))


def tune_process_memory() -> None:
    """Both settings, for a process the command line owns."""
    avoid_stalling_huge_pages()
    keep_freed_memory()
