"""A file read in place, one mapped window at a time: searches, hashes and counts over gigabytes at
memory speed, with no copy into Python bytes and no fresh memory to fault in.

Each window is unmapped before the next is mapped, so the file's pages never count towards the
process's resident memory all at once (a map of the whole file can add its size, 1.8 GB for the
20 M-row table, to a command's peak).
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Iterator

WINDOW = 1 << 24


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


def contains(path: Path, needle: bytes, start: int = 0) -> bool:
    """Whether ``needle`` occurs in the file after byte ``start`` (across windows too)."""
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
