"""Read a COBRA metabolic model: a model bundled with COBRApy by name, or a file by extension.

COBRApy is imported here, lazily, so the plugin registry loads without the ``metabolism`` extra.
Bundled names read COBRApy's package data directly (no download, no cache lookup).
"""

from __future__ import annotations

from pathlib import Path

BUNDLED = {  # name -> file in cobra/data
    "textbook": "textbook.xml.gz",  # E. coli core: 95 reactions, 72 metabolites, 137 genes
    "iJO1366": "iJO1366.xml.gz",  # E. coli K-12: 2,583 reactions, 1,805 metabolites, 1,367 genes
    "salmonella": "salmonella.xml.gz",  # S. Typhimurium: 3,357 reactions, 2,436 metabolites, 1,707 genes
    "mini": "mini.json",  # an 18-reaction test model
}
READERS = {".xml": "read_sbml_model", ".sbml": "read_sbml_model", ".gz": "read_sbml_model",
           ".json": "load_json_model", ".mat": "load_matlab_model", ".yml": "load_yaml_model",
           ".yaml": "load_yaml_model"}


def _cobra():
    try:
        import cobra.io
    except ImportError as exc:
        raise ImportError("the metabolism plugin needs COBRApy: pip install 'cellreg[metabolism]'") from exc
    return cobra.io


def _path(spec: str, base_dir: Path) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_absolute() else base_dir / path


def model_problems(key: str, spec: str, base_dir: Path) -> list[str]:
    """Before anything loads: a model that is neither bundled nor an existing file."""
    if spec in BUNDLED or _path(spec, base_dir).is_file():
        return []
    return [f"{key}: no such file: {_path(spec, base_dir)}, and not a bundled model ({', '.join(BUNDLED)})"]


def read_model(spec: str, base_dir: Path = Path(".")):
    """A ``cobra.Model`` from a bundled name or a path (SBML .xml/.xml.gz/.sbml, .json, .mat, .yml)."""
    io = _cobra()
    if spec in BUNDLED:
        from importlib.resources import files

        path = Path(str(files("cobra.data") / BUNDLED[spec]))
    else:
        path = _path(spec, base_dir)
        if not path.exists():
            raise FileNotFoundError(f"metabolic model {spec!r}: no such file, and not a bundled model "
                                    f"({', '.join(BUNDLED)})")
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"metabolic model {path}: unknown extension {suffix!r}; "
                         f"expected one of {', '.join(sorted(READERS))}")
    return getattr(io, READERS[suffix])(str(path))
