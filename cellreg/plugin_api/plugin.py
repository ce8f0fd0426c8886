"""The record a plugin hands back: what it is, what builds it, and how its config table looks."""

from __future__ import annotations

import importlib
from typing import Any, Callable

import attrs

KINDS = ("graph", "features", "phenotypes", "perturbation", "encoder", "head", "loss", "environment")
"""Plugin kinds, one per base class in :mod:`cellreg.plugin_api.contracts`."""

DEFAULTABLE = ("perturbation", "loss")
"""Kinds a config may leave out; the installed plugin declared ``default=True`` fills them in."""


@attrs.define
class EmptyConfig:
    """Config class for a plugin that takes no settings."""


@attrs.frozen
class Plugin:
    """One named capability.

    ``factory(config, context)`` builds the object: a callable, or ``"module:attribute"`` naming one,
    imported only when the plugin is first built (so ``cellreg plugins`` and ``validate`` never import
    torch or a model). ``config`` is the attrs class its TOML table is
    structured into (strictly: unknown keys and wrong types are errors). ``default=True`` offers
    it for configs that leave its kind out (only the kinds in :data:`DEFAULTABLE`).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    name: str
    factory: Callable[..., Any] | str
    config: type = EmptyConfig
    description: str = ""
    default: bool = attrs.field(default=False, kw_only=True)

    def load_factory(self) -> Callable[..., Any]:
        """The factory itself, importing its module where it is given as ``"module:attribute"``."""
        if callable(self.factory):
            return self.factory
        module, _, attribute = self.factory.partition(":")
        obj = importlib.import_module(module)
        for part in attribute.split("."):
            obj = getattr(obj, part)
        return obj

    def __attrs_post_init__(self) -> None:
        if isinstance(self.factory, str) and ":" not in self.factory:
            raise ValueError(f"{self.kind} plugin {self.name!r}: factory {self.factory!r} must be a callable or "
                             "'module:attribute'")
        if self.default and self.kind not in DEFAULTABLE:
            raise ValueError(f"{self.kind} plugin {self.name!r}: only {' and '.join(DEFAULTABLE)} plugins may be "
                             "a default; a config always names its " + self.kind)


@attrs.frozen
class PluginSource:
    """Where a plugin came from: the entry point, its distribution and version."""

    entry_point: str
    distribution: str
    version: str
    bundled: bool


@attrs.frozen
class Registered:
    plugin: Plugin
    source: PluginSource


@attrs.frozen
class BrokenPlugin:
    """An entry point whose import (or hook) raised: reported, never fatal for the others."""

    source: PluginSource
    error: str
