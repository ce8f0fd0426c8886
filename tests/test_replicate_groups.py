"""Replicate groups by hashing equal the sort-based grouping (numbered by first row)."""

import numpy as np

from cellreg.data.replicates import first_appearance, group_rows


def test_hash_grouping_equals_the_sorted_unique_reference():
    rng = np.random.default_rng(0)
    keys = rng.integers(-5, 40, 5000).astype(np.int64)
    got = first_appearance(keys)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)  # groups renumbered by their first row
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    np.testing.assert_array_equal(got.group, rank[inverse])
    np.testing.assert_array_equal(got.first, np.sort(first))


def test_replicate_rows_group_whatever_their_order_and_kinds_tell_them_apart():
    genes = np.array([1, 2, 2, 1, 1, 2, 3], np.int32)
    kinds = np.array([0, 0, 0, 0, 0, 2, 0], np.int8)
    sizes = np.array([2, 2, 2, 1])  # {1,2}, {2,1}, {1, 2 overexpressed}, {3}
    g = group_rows(genes, kinds, sizes, 4, [])
    assert g.group.tolist() == [0, 0, 1, 2] and g.first.tolist() == [0, 2, 3]
