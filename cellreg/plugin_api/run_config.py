"""Run configs parsed against the installed plugins.

:mod:`cellreg.config` parses against any plugin catalog it is given, so the config layer names no
higher one; these default that catalog to the entry-point registry, which is what commands, the
pipeline and tests want.
"""

from __future__ import annotations

from pathlib import Path

from cellreg.config import schema
from cellreg.config.schema import RunConfig
from cellreg.plugin_api.registry import Registry, default_registry


def parse_config(raw: dict, source: str = "<config>", registry: Registry | None = None) -> RunConfig:
    """A TOML document as a RunConfig, or a ConfigError listing every problem."""
    return schema.parse_config(raw, source, registry=registry or default_registry())


def load_config(path: str | Path, overrides: list[str] = (), registry: Registry | None = None) -> RunConfig:
    """A config file with ``KEY=VALUE`` overrides applied, as a RunConfig."""
    return schema.load_config(path, overrides, registry=registry or default_registry())
