"""Config key paths (``train.lr``, ``model.encoder.dim``, ``loss[1].weight``): one parser and one
assignment into a TOML document, shared by ``--set`` and the sweep's search space, so both address
the same keys the same way."""

from __future__ import annotations

import re
from typing import Any

_PIECE = re.compile(r"([A-Za-z0-9_-]+)((?:\[\d+\])*)")


class KeyPathError(ValueError):
    """A key path that is malformed or does not fit the document; the message starts with the path."""


def parse_key(key: str) -> list[str | int]:
    """``"loss[1].weight"`` -> ``["loss", 1, "weight"]``."""
    parts: list[str | int] = []
    for piece in key.strip().split("."):
        m = _PIECE.fullmatch(piece)
        if m is None:
            raise KeyPathError(f"{key}: {piece!r} is not a key part (expected name or name[index], e.g. loss[1])")
        parts.append(m[1])
        parts += [int(i) for i in re.findall(r"\d+", m[2])]
    return parts


def format_key(parts: list[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(parts))


def assign(raw: dict, key: str, value: Any) -> None:
    """Set ``key`` to ``value`` in a TOML document. Missing tables are created (the schema then says
    whether such a key exists); an index must address an existing entry of an array of tables."""
    parts = parse_key(key)
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = format_key(parts[: i + 1])
        if isinstance(part, int):
            if not isinstance(node, list):
                raise KeyPathError(f"{key}: {format_key(parts[:i])} is not an array, so it has no [{part}]")
            if part >= len(node):
                have = f"{len(node)} entr{'y' if len(node) == 1 else 'ies'}" if node else "no entries"
                raise KeyPathError(f"{key}: {where} does not exist ({format_key(parts[:i])} has {have}; "
                                   "indices count from 0)")
        elif not isinstance(node, dict):
            raise KeyPathError(f"{key}: {format_key(parts[:i])} is not a table")
        elif not last and part not in node:
            if isinstance(parts[i + 1], int):
                raise KeyPathError(f"{key}: the config has no {part!r} array to index (a left-out section takes "
                                   "its default; write its tables out to address one)")
            node[part] = {}
        if last:
            node[part] = value
        else:
            node = node[part]
