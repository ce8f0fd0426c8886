"""Advisory file locks (``flock``): the operating system releases them when their process dies, so a
SIGKILLed import never leaves the store locked.

Writers (an import's commit, ``remove``) hold ``store.lock`` exclusively; readers (``ls``, ``query``,
the ``store`` source) hold it shared, so DuckDB never sees a reader open the catalog while a writer
has it open. An import in progress also holds its own staging folder's lock, which tells recovery
that folder is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def locked(path: Path, exclusive: bool) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def try_lock(path: Path) -> int | None:
    """An exclusive lock taken without waiting (its descriptor; close it to release), or None if a live
    process holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
