"""Profile readers on small files written in exactly the public forms: an AnnData .h5ad in GEARS's
convention, a CalMorph-like wide table (TSV and Parquet), the deleteome's two-header-line matrix."""

from __future__ import annotations

import numpy as np
import pytest

from cellreg import Context
from cellreg.data.graph import CellGraph
from cellreg_profiles.configs import ProfilesConfig
from cellreg_profiles.source import ProfilesSource

GENES = ["YAL001C", "YAL002W", "YBR001C", "YCR087C-A"]


def graph() -> CellGraph:
    return CellGraph.from_edges(GENES, [("physical", np.array([0, 1]), np.array([1, 2]), None, False)])


def load(tmp_path, **options):
    source = ProfilesSource(ProfilesConfig(**options), Context(base_dir=tmp_path))
    return source, source.load(graph())


def strain_sets(table) -> list[tuple[str, ...]]:
    return [tuple(sorted(table.gene_names[g] for g in table.strain(s)[0])) for s in range(len(table))]


def by_strain(table) -> dict:
    return {s: table.labels[i] for i, s in enumerate(strain_sets(table))}


# -- AnnData (GEARS) ------------------------------------------------------------------------------
def write_h5ad(path, x, conditions, names, sparse=False, var_column="gene_name", condition_column="condition"):
    anndata = pytest.importorskip("anndata")
    import pandas as pd
    import scipy.sparse as sp

    obs = pd.DataFrame({condition_column: conditions}, index=[f"cell{i}" for i in range(len(conditions))])
    var = pd.DataFrame({var_column: names}, index=[f"g{i}" for i in range(len(names))])
    ad = anndata.AnnData(X=sp.csr_matrix(x) if sparse else np.asarray(x, np.float32), obs=obs, var=var)
    ad.write_h5ad(path)


X = np.array([[1.0, 2.0, 0.0],   # ctrl
              [3.0, 2.0, 0.0],   # ctrl       -> reference (2, 2, 0)
              [5.0, np.nan, 1.0],  # YAL001C+ctrl
              [7.0, 4.0, 3.0],   # YAL001C+ctrl -> (6, 4, 2) - ref = (4, 2, 2)
              [2.0, 2.0, 2.0],   # YAL001C+YBR001C -> (0, 0, 2)
              ], np.float32)
CONDITIONS = ["ctrl", "ctrl", "YAL001C+ctrl", "YAL001C+ctrl", "YAL001C+YBR001C"]


@pytest.mark.parametrize("sparse", [False, True])
def test_h5ad_changes_from_control_mean(tmp_path, sparse):
    write_h5ad(tmp_path / "p.h5ad", X, CONDITIONS, ["TDH3", "ACT1", "PGK1"], sparse=sparse)
    source, table = load(tmp_path, path="p.h5ad", group="expression", chunk_cells=2)  # chunks cross strains
    assert table.label_names == ("expression:TDH3", "expression:ACT1", "expression:PGK1")
    rows = by_strain(table)
    np.testing.assert_allclose(rows[("YAL001C",)], [4.0, 2.0, 2.0])  # the NaN cell is left out of the mean of ACT1
    np.testing.assert_allclose(rows[("YAL001C", "YBR001C")], [0.0, 0.0, 2.0])
    np.testing.assert_allclose(source.reference, [2.0, 2.0, 0.0])
    assert source.report()["NaN measurements in the file (masked)"] == "1"


def test_h5ad_feature_unmeasured_in_a_strain_is_nan_and_counted(tmp_path):
    x = X.copy()
    x[4, 0] = np.nan
    write_h5ad(tmp_path / "p.h5ad", x, CONDITIONS, ["TDH3", "ACT1", "PGK1"])
    source, table = load(tmp_path, path="p.h5ad")
    assert np.isnan(by_strain(table)[("YAL001C", "YBR001C")][0])
    assert source.report()["strain x feature changes not measured (masked)"] == "1 of 6"


def test_h5ad_errors_name_file_and_column(tmp_path):
    write_h5ad(tmp_path / "a.h5ad", X, CONDITIONS, ["TDH3", "ACT1", "PGK1"], condition_column="perturbation")
    with pytest.raises(ValueError, match=r"a\.h5ad: no obs column 'condition'.*perturbation"):
        load(tmp_path, path="a.h5ad")
    write_h5ad(tmp_path / "b.h5ad", X, CONDITIONS, ["TDH3", "ACT1", "TDH3"])
    with pytest.raises(ValueError, match=r"b\.h5ad: var column 'gene_name' names 1 feature\(s\) more than once.*'TDH3'"):
        load(tmp_path, path="b.h5ad")
    x = X.copy()
    x[:2, 1] = np.nan
    write_h5ad(tmp_path / "c.h5ad", x, CONDITIONS, ["TDH3", "ACT1", "PGK1"])
    with pytest.raises(ValueError, match=r"c\.h5ad: 1 feature\(s\) of var column 'gene_name' have no measured value "
                                         r"in the 'ctrl' cells.*'ACT1'"):
        load(tmp_path, path="c.h5ad")
    write_h5ad(tmp_path / "d.h5ad", X, ["YAL001C+ctrl"] * 5, ["TDH3", "ACT1", "PGK1"])
    with pytest.raises(ValueError, match=r"d\.h5ad: obs column 'condition' has no 'ctrl' cells"):
        load(tmp_path, path="d.h5ad")
    write_h5ad(tmp_path / "e.h5ad", X, ["ctrl", "ctrl", "yal001c+ctrl", "YAL01C+ctrl", "YAL001C"],
               ["TDH3", "ACT1", "PGK1"])
    with pytest.raises(ValueError, match=r"e\.h5ad: 1 perturbed gene name\(s\) not in the graph's vocabulary.*"
                                         r"'YAL01C'; did you mean 'YAL001C'"):
        load(tmp_path, path="e.h5ad")
    source, table = load(tmp_path, path="e.h5ad", unknown_genes="drop")
    assert strain_sets(table) == [("YAL001C",), ("YAL001C",)]  # case-insensitive: yal001c is YAL001C


# -- wide tables (CalMorph) -----------------------------------------------------------------------
CALMORPH = ("name\tC101_A\tC102_A\tD14-2_A1B\n"
            "his3\t10\t1.0\t0.5\n"
            "his3\t12\t3.0\t0.7\n"
            "YAL001C\t15\tNA\t0.9\n"
            "YAL001C\t17\t4.0\t1.1\n"
            "YBR001C+YAL002W\t11\t2.0\t0.6\n")


def test_wide_table_tsv_and_parquet(tmp_path):
    (tmp_path / "calmorph.tsv").write_text(CALMORPH)
    source, table = load(tmp_path, path="calmorph.tsv", strain_column="name", reference=["his3"], group="morphology")
    assert table.label_names == ("morphology:C101_A", "morphology:C102_A", "morphology:D14-2_A1B")
    rows = by_strain(table)
    np.testing.assert_allclose(rows[("YAL001C",)], [5.0, 2.0, 0.4], rtol=1e-6)  # replicates averaged; NA masked
    np.testing.assert_allclose(rows[("YAL002W", "YBR001C")], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(source.reference, [11.0, 2.0, 0.6], rtol=1e-6)
    assert source.report()["NaN measurements in the file (masked)"] == "1"
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(pacsv.read_csv(tmp_path / "calmorph.tsv", parse_options=pacsv.ParseOptions(delimiter="\t")),
                   tmp_path / "calmorph.parquet")
    _, again = load(tmp_path, path="calmorph.parquet", strain_column="name", reference=["his3"], group="morphology")
    np.testing.assert_array_equal(again.labels, table.labels)


def test_wide_table_reference_file_and_changes(tmp_path):
    (tmp_path / "m.tsv").write_text("name\tf1\tf2\nYAL001C\t3\t4\n")
    (tmp_path / "wt.tsv").write_text("name\tf1\tf2\nwt\t1\t1\nwt\t3\t1\n")
    source, table = load(tmp_path, path="m.tsv", strain_column="name", reference_path="wt.tsv")
    np.testing.assert_allclose(table.labels, [[1.0, 3.0]])
    _, table = load(tmp_path, path="m.tsv", strain_column="name", values="change")
    np.testing.assert_allclose(table.labels, [[3.0, 4.0]])


def test_wide_table_errors(tmp_path):
    (tmp_path / "a.tsv").write_text("name\tf1\tf2\nhis3\t1\t1\nYAL001C\t2\tbig\n")
    with pytest.raises(ValueError, match=r"a\.tsv: line 3, column 'f2': expected a number, got 'big'"):
        load(tmp_path, path="a.tsv", strain_column="name", reference=["his3"])
    (tmp_path / "b.tsv").write_text("name\tf1\tf1\nhis3\t1\t1\n")
    with pytest.raises(ValueError, match=r"b\.tsv: the header names 1 column\(s\) more than once.*'f1'"):
        load(tmp_path, path="b.tsv", strain_column="name", reference=["his3"])
    (tmp_path / "c.tsv").write_text("name\tf1\tf2\nYAL001C\t2\t2\n")
    (tmp_path / "wt.tsv").write_text("name\tf1\nwt\t1\n")
    with pytest.raises(ValueError, match=r"wt\.tsv: the reference lacks feature column\(s\) 'f2' of .*c\.tsv"):
        load(tmp_path, path="c.tsv", strain_column="name", reference_path="wt.tsv")
    (tmp_path / "d.tsv").write_text("name\tf1\tf2\nhis3\t1\tNA\nYAL001C\t2\t2\n")
    with pytest.raises(ValueError, match=r"d\.tsv: feature column\(s\) 'f2' have no measured value in the reference"):
        load(tmp_path, path="d.tsv", strain_column="name", reference=["his3"])
    with pytest.raises(ValueError, match=r"c\.tsv: no reference rows"):
        load(tmp_path, path="c.tsv", strain_column="name")
    with pytest.raises(ValueError, match=r"c\.tsv: no column 'strain' naming the strains.*name, f1, f2"):
        load(tmp_path, path="c.tsv")


# -- the deleteome's matrix -----------------------------------------------------------------------
DELETEOME = (
    "reporterId\tsystematicName\tgeneSymbol\tyal001c-del vs. wt\tyal001c-del vs. wt\tyal001c-del vs. wt"
    "\tybr001c-del vs. wt\tybr001c-del vs. wt\tybr001c-del vs. wt\twt-matA vs. wt\n"
    "\t\t\tM\tA\tp_value\tM\tA\tp_value\tM\n"
    "A_75_P01\tYAL001C\tTFC3\t-2.5\t10.1\t0.001\t0.1\t9.8\t0.5\t0.01\n"
    "A_75_P02\tYAL002W\tVPS8\t0.3\t11.0\t0.2\t1.2\t10.5\t0.01\t-0.02\n"
    "A_75_P03\tYBR001C\tNTH2\tNA\t8.0\t0.9\t-3.0\t7.5\t0.0001\t0.0\n"
)


def test_deleteome_matrix(tmp_path):
    (tmp_path / "deleteome_all_mutants_controls.txt").write_text(DELETEOME)
    source, table = load(tmp_path, path="deleteome_all_mutants_controls.txt", format="matrix", group="expression")
    assert table.label_names == ("expression:YAL001C", "expression:YAL002W", "expression:YBR001C")
    rows = by_strain(table)
    np.testing.assert_allclose(rows[("YAL001C",)], [-2.5, 0.3, np.nan])
    np.testing.assert_allclose(rows[("YBR001C",)], [0.1, 1.2, -3.0])
    np.testing.assert_array_equal(source.reference, [0, 0, 0])
    assert source.report()["columns skipped (not a mutant's value)"] == "7"  # 2 ids, 4 A/p_value, 1 wild type
    assert source.report()["NaN measurements in the file (masked)"] == "1"


def test_deleteome_errors(tmp_path):
    bad = DELETEOME.replace("A_75_P03\tYBR001C", "A_75_P03\tYAL001C")
    (tmp_path / "dup.txt").write_text(bad)
    with pytest.raises(ValueError, match=r"dup\.txt: column 'systematicName' names 1 feature\(s\) more than once.*YAL001C"):
        load(tmp_path, path="dup.txt", format="matrix")
    (tmp_path / "text.txt").write_text(DELETEOME.replace("\t1.2\t", "\tup\t"))
    with pytest.raises(ValueError, match=r"text\.txt: line 4, column 'ybr001c-del vs. wt': expected a number, got 'up'"):
        load(tmp_path, path="text.txt", format="matrix")


def test_h5ad_without_anndata_names_the_extra(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "anndata", None)  # import anndata now raises ImportError
    (tmp_path / "p.h5ad").write_bytes(b"")
    with pytest.raises(ImportError, match=r"pip install 'cellreg\[profiles\]'"):
        load(tmp_path, path="p.h5ad")


def test_deleteome_mutants_named_by_symbol_through_an_alias_file(tmp_path):
    (tmp_path / "d.txt").write_text(DELETEOME.replace("yal001c-del", "tfc3-del").replace("ybr001c-del", "nth2-del"))
    with pytest.raises(ValueError, match=r"d\.txt: 2 perturbed gene name\(s\) not in the graph's vocabulary"):
        load(tmp_path, path="d.txt", format="matrix")
    (tmp_path / "aliases.tsv").write_text("TFC3\tYAL001C\nNTH2\tYBR001C\n")
    _, table = load(tmp_path, path="d.txt", format="matrix", aliases="aliases.tsv")
    assert strain_sets(table) == [("YBR001C",), ("YAL001C",)]  # nth2, tfc3 in the file's sorted order
