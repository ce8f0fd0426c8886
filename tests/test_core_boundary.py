"""The core never imports a plugin: plugins reach it only through the entry-point group."""

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "cellreg"
PLUGIN_PACKAGES = {p.name for p in (CORE.parent / "plugins").iterdir() if p.is_dir()} | {"plugins"}


def test_core_sources_import_no_plugin_package():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in PLUGIN_PACKAGES]
    assert offenders == []


def test_importing_every_core_module_loads_no_plugin():
    modules = [f"cellreg.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.startswith('cellreg_')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
