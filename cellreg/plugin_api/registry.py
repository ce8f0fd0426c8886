"""Find plugins through the ``cellreg`` entry-point group and resolve them by kind and name.

Bundled plugins come through the same group as third-party ones; the core never imports them.
Set ``CELLREG_LOAD_PLUGINS`` to a comma-separated list of entry-point or distribution names to
restrict which plugins load, bundled ones included (``cellreg`` names every bundled one; empty: none).
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
import importlib.util
import os
import traceback
from typing import Iterable

import pluggy

from cellreg.plugin_api import hookspecs
from cellreg.plugin_api.conformance import contract_problems
from cellreg.plugin_api.sources import Context
from cellreg.plugin_api.plugin import DEFAULTABLE, KINDS, BrokenPlugin, Plugin, PluginSource, Registered

ENTRY_POINT_GROUP = "cellreg"
BUNDLED_DISTRIBUTION = "cellreg"
LOAD_ENV = "CELLREG_LOAD_PLUGINS"


_RESOLVE = (f"uninstall one of the distributions, or load only the ones you want with {LOAD_ENV}=<entry points "
            "or distributions> (`cellreg plugins` lists them)")


class PluginError(LookupError):
    """A plugin name that does not resolve, or two plugins claiming one name."""


def normalize(name: str) -> str:
    """Forgiving name: case-insensitive, ``-`` and ``_`` alike."""
    return name.strip().lower().replace("-", "_")


def _source(ep: md.EntryPoint) -> PluginSource:
    dist = getattr(ep, "dist", None)
    dist_name = dist.metadata["Name"] if dist is not None else "<unknown>"
    version = dist.version if dist is not None else "?"
    return PluginSource(
        entry_point=f"{ep.name} = {ep.value}",
        distribution=dist_name,
        version=version,
        bundled=dist_name == BUNDLED_DISTRIBUTION,
    )


def _wanted(ep: md.EntryPoint, source: PluginSource, allow: str | None) -> bool:
    if allow is None:
        return True
    names = {normalize(n) for n in allow.split(",") if n.strip()}
    return normalize(ep.name) in names or normalize(source.distribution) in names


class Registry:
    """Every loaded plugin, indexed by (kind, normalized name)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Registered] = {}
        self.broken: list[BrokenPlugin] = []
        self.clashes: dict[tuple[str, str], list[Registered]] = {}  # one name, several providers
        self.allow: str | None = None  # the CELLREG_LOAD_PLUGINS restriction it was loaded with
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)

    def add_module(self, module: object, source: PluginSource) -> None:
        """Register one plugin module; its records join the index."""
        try:
            self.pm.register(module, name=source.entry_point)
            self.pm.check_pending()
            impls = [i for i in self.pm.hook.cellreg_plugins.get_hookimpls() if i.plugin is module]
            if not impls:
                raise TypeError("module defines no @hookimpl cellreg_plugins()")
            records = [p for impl in impls for p in (impl.function() or [])]
            for plugin in records:
                if not isinstance(plugin, Plugin):
                    raise TypeError(f"cellreg_plugins returned {type(plugin).__name__}, expected cellreg.Plugin")
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the others down
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            self.broken.append(BrokenPlugin(source, _describe(exc)))
            return
        for plugin in records:
            self.add(plugin, source)

    def add(self, plugin: Plugin, source: PluginSource) -> None:
        """Index one record. A name two distributions claim is a clash: it breaks only the configs
        that name it (``get`` says how to resolve it), and ``cellreg plugins`` lists it."""
        key = (plugin.kind, normalize(plugin.name))
        if key in self._entries:
            self.clashes.setdefault(key, [self._entries[key]]).append(Registered(plugin, source))
            return
        self._entries[key] = Registered(plugin, source)

    def default(self, kind: str) -> Plugin | None:
        """The plugin of ``kind`` that declared itself the default, if one is installed."""
        if kind not in DEFAULTABLE:
            return None
        found = [r for (k, _), r in self._entries.items() if k == kind and r.plugin.default]
        if len(found) > 1:
            raise PluginError(f"two default {kind} plugins: " + " and ".join(
                f"{r.plugin.name!r} ({r.source.distribution}, {r.source.entry_point})" for r in found)
                + f"; name the {kind} in the config, or {_RESOLVE}")
        return found[0].plugin if found else None

    def build(self, kind: str, name: str, config: object | None, context: Context):
        """Build plugin ``name`` of ``kind`` (``config`` None: its defaults) and check the object
        against its kind's contract; a violation names the plugin and what is missing."""
        plugin = self.get(kind, name)
        source = self._entries[(kind, normalize(name))].source
        try:
            factory = plugin.load_factory()
        except (ImportError, AttributeError) as exc:
            raise PluginError(f"{kind} plugin {plugin.name!r} ({source.distribution}, {source.entry_point}): cannot "
                              f"import its factory {plugin.factory!r}: {_describe(exc)}") from None
        obj = factory(config if config is not None else plugin.config(), context)
        problems = contract_problems(kind, obj)
        if problems:
            raise PluginError(f"{kind} plugin {plugin.name!r} ({source.distribution}, {source.entry_point}) does not "
                              f"meet the {kind} contract: it must " + "; ".join(problems))
        return obj

    def names(self, kind: str) -> list[str]:
        return sorted(r.plugin.name for (k, _), r in self._entries.items() if k == kind)

    def get(self, kind: str, name: str) -> Plugin:
        """The plugin of ``kind`` called ``name``; an unknown name lists the valid choices."""
        if kind not in KINDS:
            raise PluginError(f"unknown plugin kind {kind!r}; kinds are: {', '.join(KINDS)}")
        key = (kind, normalize(name))
        if key in self.clashes:
            first, *others = self.clashes[key]
            raise PluginError(
                f"duplicate {kind} plugin {first.plugin.name!r}: provided by "
                f"{first.source.distribution} ({first.source.entry_point}) and by "
                + " and by ".join(f"{o.source.distribution} ({o.source.entry_point})" for o in others)
                + f"; {_RESOLVE}")
        entry = self._entries.get(key)
        if entry is None:
            names = self.names(kind)
            close = difflib.get_close_matches(normalize(name), [normalize(n) for n in names], n=1, cutoff=0.6)
            hint = next((f" (did you mean {n!r}?)" for n in names if close and normalize(n) == close[0]), "")
            broken = "".join(f"; plugin {b.source.distribution} ({b.source.entry_point}) failed to load and may "
                             f"provide it: {b.error}" for b in self.broken)
            restricted = f"; {LOAD_ENV}={self.allow!r} restricts which plugins load" if self.allow is not None else ""
            raise PluginError(f"unknown {kind} plugin {name!r}{hint}; choose one of: "
                              f"{', '.join(names) or '(none installed)'}{broken}{restricted}")
        return entry.plugin

    def unimportable(self) -> list[tuple[Registered, str]]:
        """Plugins whose ``"module:attribute"`` factory names a module that cannot be found (checked
        without importing it), for ``cellreg plugins``."""
        missing = []
        for r in self.entries():
            if isinstance(r.plugin.factory, str):
                module = r.plugin.factory.partition(":")[0]
                try:
                    found = importlib.util.find_spec(module) is not None
                except (ImportError, ValueError) as exc:
                    found, why = False, _describe(exc)
                else:
                    why = f"no module named {module!r}"
                if not found:
                    missing.append((r, why))
        return missing

    def entries(self) -> list[Registered]:
        return sorted(self._entries.values(), key=lambda r: (KINDS.index(r.plugin.kind), r.plugin.name))


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def load_registry(entry_points: Iterable[md.EntryPoint] | None = None, allow: str | None = None) -> Registry:
    """A fresh registry from the installed entry points (or the ones given, for tests).

    ``allow`` defaults to the ``CELLREG_LOAD_PLUGINS`` environment variable.
    """
    if entry_points is None:
        entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
    if allow is None:
        allow = os.environ.get(LOAD_ENV)
    registry = Registry()
    registry.allow = allow
    for ep in entry_points:
        source = _source(ep)
        if not _wanted(ep, source, allow):
            continue
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001
            registry.broken.append(BrokenPlugin(source, _describe(exc)))
            continue
        registry.add_module(module, source)
    return registry


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, loaded on first use."""
    global _default
    if _default is None:
        _default = load_registry()
    return _default
