"""Table-cache keys come from the reading code's imports (no hand-kept list to miss a helper) and
from the files' content."""

from __future__ import annotations

import importlib

from cellreg.toolkit import table_cache


def _package(root, helper_source: str):
    pkg = root / "myreader"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "reader.py").write_text("def read(path):\n    from .helper import parse  # lazy, relative\n"
                                   "    return parse(path)\n")
    (pkg / "helper.py").write_text(helper_source)


def test_a_change_in_any_module_the_reader_imports_changes_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    (tmp_path / "code").mkdir()
    data = tmp_path / "edges.tsv"
    data.write_text("a\tb\n")
    _package(tmp_path / "code", "def parse(path):\n    return 1\n")
    importlib.invalidate_caches()
    assert "myreader.helper" in table_cache.code_closure(("myreader.reader",))
    first = table_cache.Entry("edges", [data], {"x": 1}, code=("myreader.reader",)).path
    table_cache.code_closure.cache_clear()
    table_cache.code_digest.cache_clear()
    _package(tmp_path / "code", "def parse(path):\n    return 2  # another parser\n")
    second = table_cache.Entry("edges", [data], {"x": 1}, code=("myreader.reader",)).path
    assert first != second
    data.write_text("a\tc\n")  # the same size, other content
    assert table_cache.Entry("edges", [data], {"x": 1}, code=("myreader.reader",)).path != second


def test_the_edge_reader_key_covers_the_gene_list_reader():
    import cellreg_files.edges  # noqa: F401 - the closure reads its imports

    closure = table_cache.code_closure(("cellreg_files.edges",))
    assert {"cellreg.toolkit.gene_list", "cellreg.toolkit.gene_names", "cellreg_files.edge_columns",
            "cellreg.toolkit.columnar"} <= set(closure)


def test_a_files_digest_is_read_once_while_its_stat_is_unchanged(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    calls = []
    real = table_cache.hash_bytes
    monkeypatch.setattr(table_cache, "hash_bytes", lambda p: calls.append(p) or real(p))
    f = tmp_path / "t.tsv"
    f.write_text("a\tb\n")
    first = table_cache.file_digest(f)
    assert table_cache.file_digest(f) == first and len(calls) == 1  # remembered
    f.write_text("a\tc\n")  # same size, other bytes: ctime and mtime move
    os.utime(f, ns=(1, 2))
    assert table_cache.file_digest(f) != first and len(calls) == 2
    monkeypatch.setenv("CELLREG_CACHE", "off")
    table_cache.file_digest(f)
    assert len(calls) == 3  # no cache folder, nothing remembered
