"""Searches and counts over a file mapped a window at a time equal Python's over its bytes."""

import mmap

import numpy as np
import pytest

from cellreg.toolkit import mapped_file


@pytest.mark.parametrize("start", [0, 5, 4095, 4096, 9000])
def test_windows_cover_the_bytes_from_start_and_searches_cross_their_edges(tmp_path, monkeypatch, start):
    monkeypatch.setattr(mapped_file, "WINDOW", mmap.ALLOCATIONGRANULARITY)  # many small windows
    rng = np.random.default_rng(0)
    data = bytearray(rng.integers(97, 123, 3 * mmap.ALLOCATIONGRANULARITY + 77, dtype=np.uint8).tobytes())
    edge = 2 * mmap.ALLOCATIONGRANULARITY
    data[edge - 1:edge + 1] = b"#!"  # a two-byte needle split by a window's edge
    path = tmp_path / "f"
    path.write_bytes(bytes(data))
    seen = b"".join(bytes(window[at:]) for window, at in mapped_file.windows(path, start))
    assert seen == bytes(data[start:])
    for needle in (b"#!", b"#", b"!", b"zz", b"\n", b"#!a"):
        assert mapped_file.contains(path, needle, start) == (needle in data[start:]), needle
    (tmp_path / "empty").write_bytes(b"")
    assert list(mapped_file.windows(tmp_path / "empty")) == [] and not mapped_file.contains(tmp_path / "empty", b"#")


def test_a_file_system_that_cannot_map_files_gets_the_same_bytes_read(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("mmap: not supported here")

    data = bytes(range(256)) * 100
    (tmp_path / "f").write_bytes(data)
    monkeypatch.setattr(mapped_file, "WINDOW", mmap.ALLOCATIONGRANULARITY)
    mapped = b"".join(bytes(window[at:]) for window, at in mapped_file.windows(tmp_path / "f", 10))
    monkeypatch.setattr(mapped_file.mmap, "mmap", refuse)
    read = b"".join(bytes(window[at:]) for window, at in mapped_file.windows(tmp_path / "f", 10))
    assert read == mapped == data[10:] and mapped_file.contains(tmp_path / "f", bytes([255, 0]), 10)


def test_a_file_read_through_answers_its_marks_without_reading_until_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(mapped_file, "WINDOW", mmap.ALLOCATIONGRANULARITY)
    data = bytearray(b"a" * (3 * mmap.ALLOCATIONGRANULARITY + 10))
    data[5], data[2 * mmap.ALLOCATIONGRANULARITY + 3] = ord("#"), ord('"')  # one in the first window, one later
    path = tmp_path / "f"
    path.write_bytes(bytes(data))
    seen = []
    mapped_file.read_through(path, lambda window: seen.append(bytes(window)))
    assert b"".join(seen) == bytes(data)
    real = mapped_file.windows
    monkeypatch.setattr(mapped_file, "windows", lambda *a: pytest.fail("read again"))
    for start in (0, 5, 6, 2 * mmap.ALLOCATIONGRANULARITY + 3, 2 * mmap.ALLOCATIONGRANULARITY + 4):
        for mark in mapped_file.MARKS:
            assert mapped_file.contains(path, mark, start) == (mark in data[start:]), (mark, start)
    monkeypatch.setattr(mapped_file, "windows", real)
    path.write_bytes(bytes(data).replace(b'"', b"a") + b"a")  # changed (its size too): stale marks, the file is read
    assert not mapped_file.contains(path, b'"') and mapped_file.contains(path, b"#")


def test_a_question_asked_while_the_file_is_read_through_waits_for_its_marks(tmp_path, monkeypatch):
    """The scan of a table read ahead asks while the load hashes the file on another thread: it waits
    for that pass instead of reading the file a second time."""
    import threading

    data = b"x\ty\n" * 1000 + b"# note\n"
    path = tmp_path / "f"
    path.write_bytes(data)
    started, finish = threading.Event(), threading.Event()

    def slow(window) -> None:  # the hash, held at its first slice until the question is asked
        started.set()
        assert finish.wait(30)

    reader = threading.Thread(target=mapped_file.read_through, args=(path, slow))
    reader.start()
    assert started.wait(30)
    real = mapped_file.windows
    monkeypatch.setattr(mapped_file, "windows", lambda *a: pytest.fail("read a second time") if a[1:] else real(*a))
    answer = []
    asker = threading.Thread(target=lambda: answer.append(mapped_file.contains(path, b"#", 5)))
    asker.start()
    asker.join(0.2)
    assert asker.is_alive() and not answer  # waiting for the pass under way
    finish.set()
    reader.join(30)
    asker.join(30)
    assert answer == [True] and not mapped_file.contains(path, b'"')
