"""Table-cache keys come from the reading code's imports (no hand-kept list to miss a helper) and
from the files' content; a large entry is written on a thread that a read waits for."""

from __future__ import annotations

import importlib
import sys
import threading
from pathlib import Path

import numpy as np

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


def test_a_large_entry_is_written_on_a_thread_and_read_back_whole(tmp_path, monkeypatch):
    """From BACKGROUND_BYTES on, save returns before the write ends; a load in the same process waits."""
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    monkeypatch.setattr(table_cache, "BACKGROUND_BYTES", 0)
    release = threading.Event()
    real = table_cache.records_writer

    def slow(arrays, later=None):  # the write starts only when the test says so
        write = real(arrays, later)
        return lambda tmp: (release.wait(30), write(tmp))

    monkeypatch.setattr(table_cache, "records_writer", slow)
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    entry = table_cache.Entry("edges", [data], {"x": 1})
    arrays = {"a": np.arange(1000), "b": np.ones((3, 4), np.float32)}
    entry.save(arrays)
    assert not entry.path.exists()  # still waiting on the thread
    threading.Timer(0.2, release.set).start()
    got = table_cache.Entry("edges", [data], {"x": 1}).load()
    assert got is not None and set(got) == {"a", "b"}
    np.testing.assert_array_equal(got["a"], arrays["a"])
    np.testing.assert_array_equal(got["b"], arrays["b"])


def test_a_background_write_that_fails_warns_and_loses_nothing(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(table_cache, "BACKGROUND_BYTES", 0)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    table_cache.write_entry(blocked / "entry.npz", {"a": np.arange(10)})
    table_cache.written()
    assert "cache: cannot write" in caplog.text and blocked.read_text() == "not a folder"


def test_a_file_is_hashed_in_place_as_its_bytes_would_be(tmp_path):
    import xxhash

    data = np.random.default_rng(0).integers(0, 256, 3_000_001, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    assert table_cache.hash_bytes(tmp_path / "f") == "xxh3:" + xxhash.xxh3_128(data).hexdigest()
    assert table_cache.hash_bytes(tmp_path / "empty") == "xxh3:" + xxhash.xxh3_128(b"").hexdigest()


def test_records_round_trip_and_a_cut_entry_is_rebuilt_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    arrays = {"sizes": np.array([2, 1], np.uint8), "labels": np.ones((2, 3), np.float32), "names": np.array(["a", "β"]),
              "meta": np.array('{"k": 1}'), "empty": np.zeros(0, np.int64), "é": np.arange(3)}
    data = tmp_path / "data.txt"
    data.write_text("x\n")
    table_cache.Entry("strains", [data], {}).save(arrays)
    entry = table_cache.Entry("strains", [data], {})
    got = entry.load()
    assert list(got) == list(arrays)
    for name, a in arrays.items():
        assert got[name].dtype == a.dtype and got[name].shape == a.shape
        np.testing.assert_array_equal(got[name], a)
    whole = entry.path.read_bytes()
    for cut in (1, len(whole) // 2, len(whole) - 3):  # a name cut, a header or data cut, the last array short
        entry.path.write_bytes(whole[:cut])
        assert table_cache.Entry("strains", [data], {}).load() is None
    assert "ignoring unreadable" in caplog.text
