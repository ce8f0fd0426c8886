"""Arrays a reader hands to a table without a copy: its own fresh arrays, made read-only, are taken as
they are (20 M rows are not copied); any other array is copied."""

from __future__ import annotations

import numpy as np


def is_immutable(a, dtype) -> bool:
    """Whether ``a`` is an array of ``dtype`` that nobody can write: read-only, as is every array it
    is a view of, down to memory of its own (or bytes)."""
    if not isinstance(a, np.ndarray) or a.dtype != dtype:
        return False
    while isinstance(a, np.ndarray):
        if a.flags.writeable:
            return False
        a = a.base
    return a is None or isinstance(a, bytes)


def hand_over(*arrays: np.ndarray) -> None:
    """Make a reader's own fresh arrays read-only, with the arrays they view (``np.load`` hands out a
    reshaped view), so a table takes them without a copy; the caller must hold no writable view of them."""
    for a in arrays:
        while isinstance(a, np.ndarray):
            a.setflags(write=False)
            a = a.base
