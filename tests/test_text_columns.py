"""Tags kept as codes: the same strings, selections and fingerprint as tags given as strings."""

import numpy as np
import pytest

from cellreg import PhenotypeTable
from cellreg.data.phenotypes import hand_over, is_immutable
from cellreg.data.text_columns import Category, TextColumns


def pairs(n: int, labels: np.ndarray | None = None, tags=None) -> PhenotypeTable:
    sets = [[i % 5, 5 + i % 3] for i in range(n)]
    labels = np.arange(n, dtype=np.float32).reshape(n, 1) if labels is None else labels
    t = PhenotypeTable.from_sets(sets, labels, ["fit"], [f"g{i}" for i in range(8)])
    return PhenotypeTable(t.offsets, t.genes, t.kinds, t.labels, t.label_names, t.gene_names, tags or {})


def test_codes_and_strings_are_one_column():
    rng = np.random.default_rng(0)
    words = np.array(["DMA30", "TSA26", "DMA26 ", "TSA30", "unused"], dtype=object)
    codes = rng.integers(0, 4, 500).astype(np.int32)  # "unused" is a value no row holds
    as_codes = TextColumns({"cond": Category(list(words), codes)})
    as_strings = TextColumns({"cond": words[codes]})
    assert as_codes["cond"].tolist() == as_strings["cond"].tolist() == words[codes].tolist()
    rows = rng.integers(0, 500, 200)
    assert as_codes.select(rows)["cond"].tolist() == as_strings.select(rows)["cond"].tolist() == words[codes[rows]].tolist()
    assert list(as_codes) == ["cond"] and as_codes.rows("cond") == 500 and "cond" in as_codes
    with pytest.raises(ValueError):
        as_codes["cond"][0] = "x"  # read-only, like the table's other arrays


def test_canonical_form_is_independent_of_value_order_and_unused_values():
    strings = np.array(["b", "a", "c", "a", "b"], dtype=object)
    first_seen = Category(["b", "a", "c"], np.array([0, 1, 2, 1, 0], np.int32))
    shuffled = Category(["zz", "c", "a", "b"], np.array([3, 2, 1, 2, 3], np.int32))  # "zz" unused
    expected_values = sorted(set(strings))  # reference: Python's sort and a dict
    expected_codes = [expected_values.index(s) for s in strings]
    for c in (first_seen, shuffled, Category.from_strings(strings)):
        values, codes = c.canonical()
        assert values == expected_values and codes.tolist() == expected_codes


def test_fingerprint_is_the_same_for_codes_and_strings():
    words = ["train", "val", "test"]
    codes = np.array([2, 0, 0, 1, 0, 2], np.int32)
    by_strings = pairs(6, tags={"split": [words[c] for c in codes]})
    by_codes = pairs(6, tags={"split": Category(["x", *words], codes + 1)})
    assert by_codes.fingerprint() == by_strings.fingerprint()
    assert by_codes.tags["split"].tolist() == by_strings.tags["split"].tolist()
    changed = pairs(6, tags={"split": Category(words, np.array([2, 0, 0, 1, 0, 0], np.int32))})
    assert changed.fingerprint() != by_strings.fingerprint()  # a tag's values are content
    assert by_codes.select(np.array([5, 1])).tags["split"].tolist() == ["test", "train"]
    with pytest.raises(ValueError, match="tag 'split' has 2 values for 6 strains"):
        pairs(6, tags={"split": Category(words, np.array([0, 1], np.int32))})


def test_a_handed_over_array_is_taken_and_any_other_is_copied():
    labels = np.zeros((4, 1), np.float32)
    hand_over(labels)
    assert is_immutable(labels, np.float32) and np.shares_memory(pairs(4, labels).labels, labels)
    writable = np.zeros((4, 1), np.float32)
    assert not np.shares_memory(pairs(4, writable).labels, writable)
    view = writable[:]  # read-only itself, but a view of memory someone can still write
    view.setflags(write=False)
    assert not is_immutable(view, np.float32) and not np.shares_memory(pairs(4, view).labels, writable)
    assert not is_immutable(labels, np.float64)  # another dtype is a conversion, hence a copy
    codes, mine = np.array([0, 1, 0, 1], np.int32), np.array([0, 1, 0, 1], np.int32)  # a tag's codes alike
    hand_over(codes)
    taken = pairs(4, tags={"t": Category(["a", "b"], codes), "u": Category(["a", "b"], mine)}).tags
    assert taken.category("t").codes is codes and not np.shares_memory(taken.category("u").codes, mine)
