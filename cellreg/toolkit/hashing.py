"""Content hashes: data, splits and caches are keyed by what they contain, never by a seed alone."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable

import numpy as np


class Hasher:
    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update_array(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        self._h.update(f"{a.dtype.str}{a.shape}".encode())
        self._h.update(a.reshape(-1).view(np.uint8))  # its bytes where they lie: no copy of 20 M rows

    def update_strings(self, items: Iterable[str]) -> None:
        for s in items:
            b = s.encode()
            self._h.update(len(b).to_bytes(8, "little") + b)

    def update_json(self, obj: Any) -> None:
        self.update_strings([json.dumps(obj, sort_keys=True, default=str)])

    def hexdigest(self, length: int = 16) -> str:
        return self._h.hexdigest()[:length]
