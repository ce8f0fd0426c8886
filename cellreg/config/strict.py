"""Strict cattrs structure hooks: a config value is accepted only when its exact type fits.

cattrs coerces by default (``3.7`` → 3 for an int, ``"no"`` → True for a bool, ``"abc"`` → a list of
its letters for a ``list[str]``) and has no hook for unions of scalars such as ``int | str`` (a
column index or a header name). These hooks accept only exact types and say what was expected: a
list field needs an array, a nested config class (or a mapping) needs a table.
"""

from __future__ import annotations

import math
import types
import typing
from typing import Literal, Union

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, is_mapping, is_mutable_sequence, is_sequence, \
    list_structure_factory

SCALARS = (int, str, bool, float)


def _scalar(expected: type):
    accept = (int, float) if expected is float else (expected,)

    def hook(value, _type):
        if type(value) not in accept:
            raise TypeError(f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
        if expected is float and not math.isfinite(value):  # TOML allows nan and inf; no setting means them
            raise TypeError(f"expected a finite float, got {value!r}")
        return expected(value)

    return hook


def _union_members(t: object) -> tuple:
    return typing.get_args(t) if typing.get_origin(t) in (Union, types.UnionType) else ()


def _is_literal(t: object) -> bool:
    return typing.get_origin(t) is Literal


def _literal_fits(value: object, t: object) -> bool:
    return any(type(value) is type(v) and value == v for v in typing.get_args(t))


def _describe(t: object) -> str:
    if _is_literal(t):
        return "one of " + ", ".join(repr(v) for v in typing.get_args(t))
    return getattr(t, "__name__", str(t))


def _structure_literal(value: object, t: object) -> object:
    if not _literal_fits(value, t):
        raise ValueError(f"expected {_describe(t)}; got {value!r}")
    return value


def _is_scalar_union(t: object) -> bool:
    """Unions of int/str/bool/float/Literal (None allowed) with at least two non-None members."""
    args = [a for a in _union_members(t) if a is not type(None)]
    return len(args) >= 2 and all(a in SCALARS or _is_literal(a) for a in args)


def _structure_scalar_union(value: object, t: object) -> object:
    for member in _union_members(t):
        if member is type(None):
            if value is None:
                return None
        elif _is_literal(member):
            if _literal_fits(value, member):
                return value
        elif member is float and type(value) in (int, float):
            return float(value)
        elif type(value) is member:
            return value
    names = [_describe(a) for a in _union_members(t) if a is not type(None)]
    raise TypeError(f"expected {' or '.join(names)}, got {type(value).__name__} {value!r}")


KEY = "<key>"
"""Stands for the offending key's path in a message; the config layer, which knows the path, fills it in."""


def _got(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    return f"{type(value).__name__} {value!r}"


def _is_sequence(t: object) -> bool:
    return t not in (str, bytes) and (is_sequence(t) or is_mutable_sequence(t))


def _sequence_factory(t: object, conv: cattrs.Converter):
    """A list/tuple field takes only an array: cattrs alone turns the string "abc" into ["a", "b", "c"]."""
    args = typing.get_args(t)
    if typing.get_origin(t) is tuple and args and args[-1] is not Ellipsis:
        inner = conv.gen_structure_hetero_tuple(t)
    elif is_mutable_sequence(t):
        inner = list_structure_factory(t, conv)
    else:
        inner = homogenous_tuple_structure_factory(t, conv)
    elem = args[0] if args else object
    if attrs.has(elem):
        what = f"an array of tables ([[{KEY}]] for each entry)"
    else:
        what = f"a list of {_describe(elem)}" if args else "a list"

    def hook(value, _type):
        if type(value) not in (list, tuple):
            raise TypeError(f"expected {what}, got {_got(value)}")
        return inner(value, _type)

    return hook


def _table_factory(t: object, conv: cattrs.Converter):
    """A nested config class (or a mapping) takes only a table; cattrs alone fails on ``.keys()``."""
    inner = conv.gen_structure_attrs_fromdict(t) if attrs.has(t) else conv.gen_structure_mapping(t)

    def hook(value, _type):
        if not isinstance(value, dict):
            raise TypeError(f"expected a table, got {_got(value)}")
        return inner(value, _type)

    return hook


def register_strict_hooks(conv: cattrs.Converter) -> None:
    for t in SCALARS:
        conv.register_structure_hook(t, _scalar(t))
    conv.register_structure_hook_func(_is_literal, _structure_literal)
    conv.register_structure_hook_func(_is_scalar_union, _structure_scalar_union)
    conv.register_structure_hook_factory(_is_sequence, _sequence_factory)
    conv.register_structure_hook_factory(lambda t: attrs.has(t) or is_mapping(t), _table_factory)
