"""Replicate and split groups (one unstable sort) equal ``np.unique``'s grouping renumbered by first row;
the repeated-gene check equals a per-strain set count."""

import attrs
import numpy as np
import pytest

from cellreg.data import replicates
from cellreg.data.replicates import Replicates, first_appearance, group_rows
from cellreg.toolkit import grouping, parallel_index


@pytest.mark.parametrize("low, high", [(-5, 40), (-2**62, 2**62)])  # many repeats; almost all distinct
def test_grouping_equals_the_sorted_unique_reference(low, high):
    rng = np.random.default_rng(0)
    keys = rng.integers(low, high, 5000).astype(np.int64)
    keys[rng.integers(0, 5000, 500)] = keys[rng.integers(0, 5000, 500)]  # some repeats either way
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
    g = group_rows(genes, kinds, sizes, [])
    assert g.group.tolist() == [0, 0, 1, 2] and g.first.tolist() == [0, 2, 3]


def test_distinct_keys_are_each_their_own_group_in_row_order():
    keys = np.random.default_rng(1).permutation(1000).astype(np.int64) * 7919
    got = first_appearance(keys)
    assert got.group.tolist() == list(range(1000)) and got.first.tolist() == list(range(1000))


def test_repeated_gene_check_equals_a_per_strain_set_count():
    from cellreg.data.strain_table import _maybe_repeated

    rng = np.random.default_rng(2)
    sizes = rng.integers(0, 7, 3000)
    genes = rng.integers(0, 12, int(sizes.sum())).astype(np.int32)
    got = _maybe_repeated(genes, sizes)
    start = np.cumsum(sizes) - sizes
    repeated = np.array([len(set(genes[a:a + k])) < k for a, k in zip(start, sizes)])
    assert np.all(got[sizes <= 4] == repeated[sizes <= 4])  # exact for small sets
    assert np.all(got[sizes > 4])  # larger sets are left to the sort
    # sizes adding up to 2 per strain without all being 2: the large set keeps its check
    sizes = np.array([6, 1, 1, 0])
    genes = np.array([1, 2, 3, 4, 5, 1, 7, 8], np.int32)
    assert _maybe_repeated(genes, sizes).tolist() == [True, False, False, False]
    assert _maybe_repeated(np.array([4, 4, 6, 6], np.int32), np.array([2, 2])).tolist() == [True, True]


@pytest.mark.parametrize("kind", ["narrow", "hashes", "wide", "int32", "blocks"])
def test_grouping_of_every_key_width_equals_the_reference(kind):
    rng = np.random.default_rng(3)
    if kind == "narrow":  # packed whole beside the row number
        keys = rng.integers(-50, 50, 20000).astype(np.int64)
    elif kind == "blocks":  # packed a block of rows at a time, across the cores: rows in several blocks
        keys = rng.integers(-2**30, 2**30, 3 * 2**18 + 5).astype(np.int64)
        keys[rng.integers(0, len(keys), 10**5)] = keys[rng.integers(0, len(keys), 10**5)]
    elif kind == "hashes":  # full 64-bit range: no room for the row, sorted by argsort
        keys = rng.integers(0, 2**64 - 1, 20000, dtype=np.uint64)
        keys[rng.integers(0, 20000, 3000)] = keys[rng.integers(0, 20000, 3000)]
    elif kind == "wide":  # a range at the edge of fitting beside 15 row bits
        keys = (rng.integers(-2**27, 2**27, 20000) * 2**20 + rng.integers(0, 4, 20000)).astype(np.int64)
        keys[::2] = keys[0]
    else:
        keys = rng.integers(-2**31, 2**31 - 1, 20000).astype(np.int32)
        keys[::3] = keys[1]
    got = first_appearance(keys)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    np.testing.assert_array_equal(got.group, rank[inverse.reshape(-1)])
    np.testing.assert_array_equal(got.first, np.sort(first))


# pairs only (column views), pairs and singles (first and last entry), larger sets (by size)
@pytest.mark.parametrize("smallest, largest", [(2, 2), (1, 2), (1, 4)])
def test_replicate_groups_equal_grouping_by_sorted_sets_and_conditions(smallest, largest):
    rng = np.random.default_rng(4)
    sizes = rng.integers(smallest, largest + 1, 4000)
    genes = rng.integers(0, 6, int(sizes.sum())).astype(np.int32)  # few genes: many repeated sets
    kinds = rng.integers(0, 2, len(genes)).astype(np.int8)
    condition = rng.integers(0, 3, len(sizes)).astype(np.int32)
    got = group_rows(genes, kinds, sizes, [condition])
    start = np.cumsum(sizes) - sizes
    sets = [(tuple(sorted(zip(genes[a:a + k].tolist(), kinds[a:a + k].tolist()))), int(c))
            for a, k, c in zip(start, sizes, condition)]
    number: dict = {}
    expected = [number.setdefault(s, len(number)) for s in sets]  # numbered by first appearance
    assert got.group.tolist() == expected


def _reference_means(keys: np.ndarray, labels: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Each group's first row and its NaN-ignoring means, group by group in Python."""
    rows: dict = {}
    for r, k in enumerate(keys.tolist()):
        rows.setdefault(k, []).append(r)
    means = np.full((len(rows), labels.shape[1]), np.nan)
    for g, members in enumerate(rows.values()):
        for j in range(labels.shape[1]):
            seen = [labels[r, j] for r in members if not np.isnan(labels[r, j])]
            if seen:
                means[g, j] = sum(seen) / len(seen)  # in row order, as the merge sums
    return [members[0] for members in rows.values()], means


# a stable sort; an unstable one; the fallback; in blocks on three threads, with values missing in every
# block and in few of them (a block where none is missing takes a shorter way)
@pytest.mark.parametrize("kind", ["packed", "hashes", "groups", "threads", "few_missing"])
def test_replicate_means_equal_averaging_each_group_in_python(kind, monkeypatch):
    if kind in ("threads", "few_missing"):
        monkeypatch.setattr(parallel_index, "MIN_SIZE", 1)
        monkeypatch.setattr(parallel_index, "_cores", lambda: 3)
        monkeypatch.setattr(parallel_index, "COMPRESS_BLOCK", 100)
        monkeypatch.setattr(replicates, "GROUP_BLOCK", 37)
        monkeypatch.setattr(grouping, "_BLOCK", 64)  # the sort's ties and rows read a block at a time
    rng = np.random.default_rng(5)
    if kind == "hashes":  # no room beside the row number: an unstable argsort, rows put back in order
        keys = rng.integers(0, 2**64 - 1, 3000, dtype=np.uint64)
        keys[rng.integers(0, 3000, 1500)] = keys[rng.integers(0, 3000, 1500)]
    else:
        keys = rng.integers(0, 900, 3000).astype(np.int64)
    labels = rng.normal(size=(3000, 3))
    labels[rng.random((3000, 3)) < (0.002 if kind == "few_missing" else 0.3)] = np.nan  # some groups: no value
    got = Replicates.of_groups(first_appearance(keys)) if kind == "groups" else Replicates.of_keys(keys)
    first, means = _reference_means(keys, labels)
    assert np.flatnonzero(got.keep).tolist() == first and got.count == len(first)
    assert got.merged_groups == int((np.bincount(np.unique(keys, return_inverse=True)[1]) > 1).sum())
    np.testing.assert_array_equal(got.means(labels), means.astype(np.float32))


def test_the_first_disagreement_is_in_the_earliest_group_between_neighbours():
    keys = np.array([5, 9, 5, 9, 9, 5, 7])  # groups by first row: 5 (rows 0 2 5), 9 (1 3 4), 7
    codes = np.array([0, 1, 0, 1, 2, 3, 4])  # 9 disagrees at rows 3 / 4, and 5 at rows 2 / 5
    assert Replicates.of_keys(keys).disagreement(codes) == (2, 5)
    assert Replicates.of_keys(keys).disagreement(np.array([0, 1, 0, 1, 2, 0, 4])) == (3, 4)
    assert Replicates.of_keys(keys).disagreement(np.array([0, 1, 0, 1, 1, 0, 4])) is None


def test_set_keys_in_blocks_equal_keys_in_one_block(monkeypatch):
    """Blocks of rows (each its own fast or general path) give the keys of one pass over every row."""
    rng = np.random.default_rng(8)
    sizes = np.concatenate([np.full(300, 2), rng.integers(0, 5, 700), np.full(200, 1)])
    genes = rng.integers(0, 50, int(sizes.sum())).astype(np.int32)
    kinds = rng.integers(0, 3, len(genes)).astype(np.int8)
    condition = rng.integers(0, 4, len(sizes)).astype(np.int32)
    whole = replicates.exact_set_keys(genes, kinds, sizes, [condition], 50)
    monkeypatch.setattr(replicates, "BLOCK", 128)
    np.testing.assert_array_equal(replicates.exact_set_keys(genes, kinds, sizes, [condition], 50), whole)
    assert len(np.unique(whole)) == len({(tuple(sorted(zip(genes[a:a + k], kinds[a:a + k]))), c) for a, k, c in
                                         zip(np.cumsum(sizes) - sizes, sizes, condition)})


def test_the_merge_hands_over_the_kept_rows_set_keys_without_their_conditions():
    """replicates' keys are the merged table's own exact set keys (what a random split computes), so
    the split need not compute them again; a vocabulary too wide for them gives None, same groups."""
    from cellreg.data.replicates import exact_set_keys, replicates

    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 4, 3000)
    genes = rng.integers(0, 40, int(sizes.sum())).astype(np.int32)
    kinds = rng.integers(0, 3, len(genes)).astype(np.int8)
    conditions = [rng.integers(0, 3, 3000).astype(np.int32), rng.integers(0, 2, 3000).astype(np.int32)]
    groups, keys = replicates(genes, kinds, sizes, conditions, 50)
    entries = np.repeat(groups.keep, sizes)
    expected = exact_set_keys(genes[entries], kinds[entries], sizes[groups.keep], [], 50)
    np.testing.assert_array_equal(keys, expected)
    wide, none = replicates(genes, kinds, sizes, conditions, 2**40)  # three genes of 2**43 codes: no room
    assert none is None and np.array_equal(wide.keep, groups.keep) and np.array_equal(wide.rows, groups.rows)
