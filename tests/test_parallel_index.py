"""Threaded gathers and scatters give numpy's result, split or not."""

import numpy as np
import pytest

from cellreg.toolkit import parallel_index


@pytest.mark.parametrize("min_size", [1, 1 << 20])  # split into pieces across threads, and plain numpy
def test_take_and_put_are_numpys(monkeypatch, min_size):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", min_size)
    monkeypatch.setattr(parallel_index, "TAKE_BLOCK", 7)  # many blocks of a gather across threads
    monkeypatch.setattr(parallel_index, "_cores", lambda: 3)  # pieces even on a one-core machine
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 1000):
        a = rng.integers(0, 100, 2 * n + 1)
        index = rng.integers(-len(a), len(a), n)  # negative indices count from the end, as in numpy
        np.testing.assert_array_equal(parallel_index.take(a, index), a[index])
        np.testing.assert_array_equal(parallel_index.take(a, index.astype(np.int32)), a[index])
        column = np.zeros((n, 2), np.int64)  # into a strided column
        assert parallel_index.take(a, index.astype(np.int32), out=column[:, 1]).base is column
        np.testing.assert_array_equal(column, np.stack([np.zeros(n, np.int64), a[index]], 1))
        order = rng.permutation(len(a))
        values = rng.integers(0, 100, len(a))
        expected, got = np.zeros(len(a), np.int64), np.zeros(len(a), np.int64)
        expected[order] = values
        parallel_index.put(got, order, values)
        np.testing.assert_array_equal(got, expected)
        marked, reference = np.zeros(len(a), bool), np.zeros(len(a), bool)
        reference[index] = True  # one value: repeated indices are fine
        parallel_index.put(marked, index, True)
        np.testing.assert_array_equal(marked, reference)


@pytest.mark.parametrize("block", [7, 1 << 16])  # rows in many blocks across threads; one block
def test_compress_is_numpys_cast_into_out(monkeypatch, block):
    monkeypatch.setattr(parallel_index, "COMPRESS_BLOCK", block)
    monkeypatch.setattr(parallel_index, "_cores", lambda: 3)
    rng = np.random.default_rng(1)
    for n in (0, 5, 100, 1001):
        a = rng.normal(size=(n, 3))
        mask = rng.random(n) < 0.7
        out = np.empty((int(mask.sum()), 3), np.float32)
        assert parallel_index.compress(mask, a, out) is out
        np.testing.assert_array_equal(out, a[mask].astype(np.float32))
        np.testing.assert_array_equal(parallel_index.compress(mask, a[:, 0]), a[mask, 0])


def test_spread_covers_every_index_once(monkeypatch):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", 1)
    monkeypatch.setattr(parallel_index, "_cores", lambda: 3)
    for n in (0, 1, 2, 10):
        seen = np.zeros(n, np.int64)
        parallel_index.spread(lambda s: np.add.at(seen, np.arange(n)[s], 1), n)
        assert seen.tolist() == [1] * n


def test_take_out_of_range_is_numpys_error(monkeypatch):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", 1)
    monkeypatch.setattr(parallel_index, "TAKE_BLOCK", 3)
    with pytest.raises(IndexError, match="out of bounds"):
        parallel_index.take(np.arange(5), np.array([0, 1, 2, 3, 4, 5, 1], np.int32))
    with pytest.raises(TypeError):  # an index of floats is refused, as a[index] refuses it
        parallel_index.take(np.arange(5), np.array([0.5, 1.0, 2.0, 3.0]))


def test_beside_returns_or_raises_what_the_work_did(monkeypatch):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", 1)
    a = np.arange(100)
    done = parallel_index.beside(lambda: parallel_index.take(a, a[::-1]))  # work that uses the pool itself
    np.testing.assert_array_equal(done.result(timeout=30), a[::-1])
    failed = parallel_index.beside(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result(timeout=30)


@pytest.mark.parametrize("cores", [1, 3])  # one array; each core its own, then together
def test_marked_is_which_values_the_index_holds(monkeypatch, cores):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", 1)
    monkeypatch.setattr(parallel_index, "_cores", lambda: cores)
    rng = np.random.default_rng(5)
    for n, size in ((5, 0), (40, 7), (1000, 300)):
        index = rng.integers(0, n, size).astype(np.int32)
        np.testing.assert_array_equal(parallel_index.marked(index, n), np.bincount(index, minlength=n) > 0)
