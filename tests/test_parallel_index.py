"""Threaded gathers and scatters give numpy's result, split or not."""

import numpy as np
import pytest

from cellreg.toolkit import parallel_index


@pytest.mark.parametrize("min_size", [1, 1 << 20])  # split into pieces across threads, and plain numpy
def test_take_and_put_are_numpys(monkeypatch, min_size):
    monkeypatch.setattr(parallel_index, "MIN_SIZE", min_size)
    monkeypatch.setattr(parallel_index, "_cores", lambda: 3)  # pieces even on a one-core machine
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 1000):
        a = rng.integers(0, 100, 2 * n + 1)
        index = rng.integers(0, len(a), n)
        np.testing.assert_array_equal(parallel_index.take(a, index), a[index])
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
