"""cellreg: predict phenotypes of multiply-perturbed cells from gene networks.

Writing a plugin takes one module and one entry point (see :mod:`cellreg.plugin_api.hookspecs`);
its objects subclass the base classes exported here. Every name a plugin author sees is declared
once, in :mod:`cellreg.plugin_api`; this package re-exports them, imported on first use, so
``from cellreg import Plugin, hookimpl`` stays free of torch.
"""

from __future__ import annotations

from cellreg import plugin_api as _api
from cellreg.plugin_api.hookspecs import hookimpl
from cellreg.plugin_api.plugin import EmptyConfig, Plugin

__version__ = "0.1.0"

__all__ = [*_api.__all__, "__version__"]


def __getattr__(name: str):
    if name in _api.PUBLIC:
        value = getattr(_api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cellreg' has no attribute {name!r}")
