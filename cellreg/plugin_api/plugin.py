"""The record a plugin hands back: what it is, what builds it, and how its config table looks."""

from __future__ import annotations

from typing import Any, Callable

import attrs

KINDS = ("graph", "phenotypes", "perturbation", "encoder", "head", "loss")
"""Plugin kinds, one per protocol in :mod:`cellreg.plugin_api.contracts`."""


@attrs.define
class EmptyConfig:
    """Config class for a plugin that takes no settings."""


@attrs.frozen
class Plugin:
    """One named capability.

    ``factory(config, context)`` builds the object; ``config`` is the attrs class its TOML table is
    structured into (strictly: unknown keys and wrong types are errors).
    """

    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    name: str
    factory: Callable[..., Any]
    config: type = EmptyConfig
    description: str = ""


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
