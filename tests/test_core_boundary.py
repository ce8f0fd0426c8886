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
    modules = [".".join(("cellreg",) + p.relative_to(CORE).with_suffix("").parts) for p in CORE.rglob("*.py")
               if p.stem != "__init__"]
    code = ("import sys, importlib\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(m for m in sys.modules if m.startswith('cellreg_')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# Core strings that are a bundled plugin's name by coincidence, each in the one module that means it so.
GENERIC_WORDS = {
    ("config/schema.py", "mse"): "a metric a run may select on",
    ("data/label_groups.py", "profile"): "the label-group kind (a vector phenotype)",
    ("training/metrics.py", "mse"): "a metric",
    ("training/group_metrics.py", "mse"): "a scalar group's metric",
    ("training/bootstrap.py", "mse"): "a metric (its bootstrap interval)",
    ("training/trainer.py", "mean"): "Accelerate's reduction",
    ("data/standardize.py", "mean"): "the scaler's field",
    ("training/checkpoint.py", "files"): "the checkpoint's file list",
    ("training/checkpoint.py", "file"): "a word of a message",
    ("config/split_config.py", "random"): "the random split",
    ("data/splits.py", "random"): "the random split",
    ("commands/cli.py", "random"): "cellreg sweep --sampler random (Optuna's)",
    ("config/split_config.py", "files"): "the published-files split",
    ("data/splits.py", "files"): "the published-files split",
    ("training/pipeline.py", "files"): "the published-files split",
    ("training/preflight.py", "files"): "the published-files split",
    ("toolkit/table_cache.py", "files"): "the cache's file list",
    ("toolkit/table_cache.py", "none"): "a cache setting",
    ("data/strain_table.py", "none"): "aggregate = none",
    ("data/strain_table.py", "mean"): "aggregate = mean",
    ("commands/inspect.py", "mean"): "a statistic",
    ("data/environment.py", "none"): "a word of a message",
    ("data/environment_schema.py", "none"): "a word of a message",
    ("store/location.py", "store"): "the study store's default folder",
    ("commands/data.py", "file"): "the FILE argument of cellreg data import",
}


def _string_constants(tree: ast.AST):
    """Every string literal that is not a docstring."""
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def test_no_core_module_names_a_bundled_plugin():
    from cellreg.plugin_api.registry import load_registry, normalize

    bundled = {normalize(r.plugin.name) for r in load_registry(allow="cellreg").entries()}
    bundled |= {p.removeprefix("cellreg_") for p in PLUGIN_PACKAGES - {"plugins"}}  # entry points: short names
    assert {"index", "mse", "table", "synthetic", "dango"} <= bundled
    offenders = []
    for path in CORE.rglob("*.py"):
        rel = path.relative_to(CORE).as_posix()
        for text in _string_constants(ast.parse(path.read_text())):
            word = normalize(text)  # a plugin is named by a string of its own: "index", {"name": "mse"}
            if word in bundled and (rel, word) not in GENERIC_WORDS:
                offenders.append(f"{rel}: {text!r}")
    assert offenders == []


def test_listing_plugins_and_checking_configs_import_no_torch():
    """What keeps `cellreg --help`, `plugins` and `validate` starting fast: plugin records and their
    config classes are torch-free; models and ops are imported when first built."""
    examples = CORE.parent / "examples"
    code = ("import sys\n"
            "from cellreg.commands.cli import main\n"
            "from cellreg.plugin_api.run_config import load_config\n"
            "from cellreg.plugin_api.registry import default_registry\n"
            "assert not default_registry().broken, default_registry().broken\n"
            f"for name in {sorted(p.name for p in examples.glob('*.toml'))!r}:\n"
            f"    load_config({str(examples)!r} + '/' + name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torch_geometric', 'cobra')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
