"""Layers point one way: config/toolkit -> data -> plugin_api -> training -> screen/sweep -> commands.

Every import in a module counts, at the top, inside a function or under ``TYPE_CHECKING``: an
import cycle between two layers is a cycle whichever way it is spelled.
"""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "cellreg"
ABOVE_DATA = ("cellreg.plugin_api", "cellreg.training", "cellreg.screen", "cellreg.sweep", "cellreg.commands")


def imported_modules(path: Path) -> list[str]:
    """Every module a source file imports; ``from cellreg import X`` counts as the package that
    declares X (the plugin API), since that is what it loads."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append("cellreg.plugin_api" if node.module == "cellreg" else node.module)
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{path.relative_to(CORE.parent)} imports {m}" for path in sorted((CORE / package).rglob("*.py"))
            for m in imported_modules(path) if m.startswith(forbidden)]


def test_data_layer_imports_nothing_above_it():
    assert offenders("data", ABOVE_DATA) == []


def test_plugin_api_imports_no_layer_above_it():
    assert offenders("plugin_api", ABOVE_DATA[1:]) == []


def test_the_check_sees_imports_however_spelled(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cellreg.plugin_api.sources import X\n"
                      "def f():\n    import cellreg.training.trainer\n    from cellreg import Loss\n")
    assert imported_modules(source) == ["typing", "cellreg.plugin_api.sources", "cellreg.training.trainer",
                                        "cellreg.plugin_api"]


def test_the_types_a_plugin_author_sees_are_declared_once_in_the_plugin_api():
    import cellreg
    from cellreg import plugin_api

    assert set(cellreg.__all__) - {"__version__"} == set(plugin_api.__all__)
    for name in plugin_api.__all__:
        assert getattr(cellreg, name) is getattr(plugin_api, name)
    from cellreg.plugin_api.sources import GeneFeatures, NewStrains  # the old spellings still work

    assert (GeneFeatures, NewStrains) == (plugin_api.GeneFeatures, plugin_api.NewStrains)


def test_config_imports_no_layer_above_it():
    """Config parses against any plugin catalog (``PluginCatalog``); the registry is passed in from
    above (:mod:`cellreg.plugin_api.run_config`)."""
    assert offenders("config", ("cellreg.data",) + ABOVE_DATA) == []
