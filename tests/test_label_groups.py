"""Label groups on the table: defaults, completion, restriction, and the .npz round trip."""

import numpy as np
import pytest

from cellreg import GroupKind, LabelGroup, PhenotypeTable
from cellreg.data.label_groups import find_group, group_columns, scalar_groups


def table(labels=("a", "b", "c"), groups=()):
    t = PhenotypeTable.from_sets([[0], [1], [0, 1]], np.arange(9.0).reshape(3, 3)[:, :len(labels)], labels, ["g0", "g1"])
    return PhenotypeTable(t.offsets, t.genes, t.kinds, t.labels, t.label_names, t.gene_names, label_groups=groups)


def test_a_table_without_groups_has_one_scalar_group_per_label():
    assert table().label_groups == scalar_groups("abc")
    assert [g.kind for g in table().label_groups] == [GroupKind.SCALAR] * 3


def test_declared_groups_are_completed_and_ordered_by_first_column():
    t = table(groups=[LabelGroup("expr", ["c", "b"], "profile", "log2 ratio")])
    assert [(g.name, g.labels) for g in t.label_groups] == [("a", ("a",)), ("expr", ("c", "b"))]
    assert [c.tolist() for c in group_columns(t.label_groups, t.label_names)] == [[0], [2, 1]]


@pytest.mark.parametrize("groups, message", [
    ([LabelGroup("x", ["a", "z"])], "label group 'x' names label(s) the table lacks: 'z'"),
    ([LabelGroup("x", ["a"]), LabelGroup("y", ["a", "b"])], "label 'a' is in two label groups: 'x' and 'y'"),
    ([LabelGroup("b", ["a"])], "two label groups are named 'b'"),
    ([LabelGroup("b", ["a", "c"]), LabelGroup("x", ["b"])], "label group 'b' has the name of a label in group 'x'"),
])
def test_bad_groups_are_refused_naming_them(groups, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        table(groups=groups)


def test_a_group_name_must_be_usable_in_select():
    with pytest.raises(ValueError, match="hold no '.'"):
        LabelGroup("a.b", ["a"])


def test_groups_survive_label_selection_rows_and_a_save(tmp_path):
    t = table(groups=[LabelGroup("pair", ["a", "c"], unit="mM")])
    assert t.with_labels(["c", "b"]).label_groups == (LabelGroup("pair", ["c"], unit="mM"), LabelGroup("b", ["b"]))
    assert t.select([2, 0]).label_groups == t.label_groups
    t.save(tmp_path / "t.npz")
    back = PhenotypeTable.load(tmp_path / "t.npz")
    assert back.label_groups == t.label_groups and back.fingerprint() == t.fingerprint()


def test_only_declared_groups_change_the_fingerprint_or_the_file(tmp_path):
    plain = table()
    assert table(groups=scalar_groups("abc")).fingerprint() == plain.fingerprint()
    assert table(groups=[LabelGroup("pair", ["a", "b"])]).fingerprint() != plain.fingerprint()
    plain.save(tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as z:
        assert "label_groups" not in z.files  # a default table's file is as before


def test_a_name_finds_its_group_or_the_group_of_that_one_label():
    groups = table(groups=[LabelGroup("growth", ["a"]), LabelGroup("pair", ["b", "c"])]).label_groups
    assert find_group("growth", groups).name == "growth"
    assert find_group("a", groups).name == "growth"  # the old val.<label>.<metric> spelling
    assert find_group("b", groups) is None  # one label of a larger group is not a group
