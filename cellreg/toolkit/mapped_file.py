"""A file read in place, one mapped window at a time: searches, hashes and counts over gigabytes at
memory speed, with no copy into Python bytes and no fresh memory to fault in.

Each window is unmapped before the next is mapped, so the file's pages never count towards the
process's resident memory all at once (a map of the whole file can add its size, 1.8 GB for the
20 M-row table, to a command's peak).
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path
from typing import Callable, Iterator

WINDOW = 1 << 24
SLICE = 1 << 18
MARKS = (b"#", b'"')
"""Bytes whose last place a full pass (:func:`read_through`) notes on its way, a slice at a time while
it is in the cache, so that a later :func:`contains` of one of them in the same, unchanged file
reads nothing: the comment and quote questions of the columnar engine, asked of a table just hashed
for its cache key."""
_marks: dict[tuple[str, tuple], dict[bytes, int]] = {}
_reading: dict[tuple[str, tuple], threading.Event] = {}  # passes under way: a question waits for their answer
_marks_lock = threading.Lock()


def windows(path: Path, start: int = 0) -> Iterator[tuple[mmap.mmap | bytes, int]]:
    """``(window, at)``: read-only maps covering the file from byte ``start`` on, each with the offset
    in it where the wanted bytes begin (``bytes`` read in their place where the file system cannot map
    files). A caller keeps no view of a window past its turn."""
    total = Path(path).stat().st_size
    pos = start - start % mmap.ALLOCATIONGRANULARITY
    size = max(WINDOW - WINDOW % mmap.ALLOCATIONGRANULARITY, mmap.ALLOCATIONGRANULARITY)
    mapping = True
    with open(path, "rb") as f:
        while pos < total:
            length = min(size, total - pos)
            if mapping:
                try:
                    window = mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ, offset=pos)
                except (OSError, ValueError):  # a file system that cannot map files: read them instead
                    mapping = False
            if mapping:
                with window:
                    yield window, max(start - pos, 0)
            else:
                f.seek(pos)
                yield f.read(length), max(start - pos, 0)
            pos += length


def file_state(path: Path) -> tuple[str, tuple]:
    """The file, and what any write through the file system changes: its device, inode, size, mtime
    and ctime (what the cache's file digests and :func:`read_through`'s marks are remembered by)."""
    st = os.stat(path)
    return str(Path(path).resolve()), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def read_through(path: Path, each: Callable[[mmap.mmap | bytes], None]) -> None:
    """``each(window)`` over the whole file, noting where each of :data:`MARKS` last occurs."""
    state = file_state(path)
    last, offset = dict.fromkeys(MARKS, -1), 0
    with _marks_lock:
        under_way = _reading.setdefault(state, threading.Event())
    try:
        for window, _ in windows(path):  # from byte 0: the windows follow each other
            view = memoryview(window)
            for a in range(0, len(window), SLICE):  # each slice searched while it is in the cache
                b = min(a + SLICE, len(window))
                each(view[a:b])
                for mark in MARKS:
                    at = window.rfind(mark, a, b)
                    if at >= 0:
                        last[mark] = offset + at
            del view  # a window unmaps only once no view points into it
            offset += len(window)
        with _marks_lock:
            _marks[state] = last
    finally:
        with _marks_lock:
            _reading.pop(state, None)
        under_way.set()


def contains(path: Path, needle: bytes, start: int = 0) -> bool:
    """Whether ``needle`` occurs in the file after byte ``start`` (across windows too); for one of
    :data:`MARKS` in a file read through since it last changed, without reading it."""
    if needle in MARKS:
        state = file_state(path)
        with _marks_lock:
            under_way = _reading.get(state)
        if under_way is not None:  # being read through on another thread: its marks answer this too
            under_way.wait()
        with _marks_lock:
            known = _marks.get(state)
        if known is not None:
            return known[needle] >= start
    carry = b""
    for window, at in windows(path, start):
        if window.find(needle, at) >= 0:
            return True
        if len(needle) > 1:
            head = window[at:at + len(needle) - 1]
            if needle in carry + head:
                return True
            carry = window[max(at, len(window) - len(needle) + 1):]
    return False
