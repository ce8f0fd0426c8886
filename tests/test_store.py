"""The study store (cellreg data): imports of every format against the files' own values, no-op
re-imports, read-only queries, removal, bad input, and the Parquet layout read by pyarrow.dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cellreg.commands.cli import main
from store_files import COSTANZO_ROWS, costanzo, kuzmin2018, kuzmin2020

DCELL = Path("/work/shared/real/dcell_original/GO_0000790_training_data_2016_0")
DCELL_SHIPPED = Path(__file__).resolve().parents[1] / "examples" / "real" / "GO_0000790_train.tsv"


def data(store: Path, *args: str) -> int:
    return main(["data", *args[:1], "--store", str(store), *args[1:]])


def query(store: Path, sql: str):
    from cellreg.store.catalog import Store
    from cellreg.store.views import query as run

    return run(Store(store), sql)


def test_costanzo_rows_match_the_file(tmp_path, capsys):
    store = tmp_path / "store"
    assert data(store, "import", "costanzo2016", str(costanzo(tmp_path / "SGA_ExE.txt")), "--study", "c16") == 0
    assert "imported SGA_ExE.txt into study 'c16'" in capsys.readouterr().out
    _, rows = query(store, "SELECT genes, kinds, alleles, \"env.array_type\", \"env.temperature\", value, p_value "
                           "FROM rows WHERE phenotype = 'genetic_interaction' ORDER BY value")
    # the file's rows with an epsilon (the third has NA), ids split at '_', suffix -> kind, screen -> environment
    expected = sorted([(r[0], r[2], r[4], float(r[5]), float(r[6])) for r in COSTANZO_ROWS if r[5] != "NA"],
                      key=lambda r: r[3])
    kind = {"tsq2": "knockdown", "dma1": "deletion", "dma2": "deletion", "dma3": "deletion", "damp4": "knockdown"}
    assert len(rows) == len(expected)
    for got, (q, a, screen, eps, p) in zip(rows, expected):
        assert got[0] == [q.split("_")[0], a.split("_")[0]]
        assert got[1] == [kind[q.split("_")[1]], kind[a.split("_")[1]]]
        assert got[2] == [q, a]
        assert (got[3], got[4]) == (screen[:3], float(screen[3:]))
        assert got[5:] == (eps, p)
    # fitness: every pair's DMF, and each single mutant once per strain id and screen
    _, fit = query(store, "SELECT alleles, \"env.array_type\" || \"env.temperature\"::INT, value FROM rows "
                          "WHERE phenotype = 'fitness' AND len(genes) = 1 ORDER BY ALL")
    singles = {(r[0], r[4]): float(r[7]) for r in COSTANZO_ROWS} | {(r[2], r[4]): float(r[8]) for r in COSTANZO_ROWS}
    assert sorted(([k[0]], k[1], v) for k, v in singles.items()) == sorted(fit)
    _, n = query(store, "SELECT count(*) FROM rows WHERE phenotype = 'fitness' AND len(genes) = 2")
    assert n[0][0] == len(COSTANZO_ROWS)


def test_reimport_is_a_noop_and_studies_keep_provenance(tmp_path, capsys):
    store, f = tmp_path / "store", costanzo(tmp_path / "SGA_ExN_NxE.txt")
    data(store, "import", "costanzo2016", str(f), "--study", "c16", "--license", "CC BY 4.0")
    capsys.readouterr()
    before = query(store, "SELECT * FROM sources")
    assert data(store, "import", "costanzo2016", str(f), "--study", "again") == 0
    assert "already in the store as study 'c16'" in capsys.readouterr().out
    assert query(store, "SELECT * FROM sources") == before
    import hashlib

    (_, [(name, sha, cite, lic)]) = query(store, "SELECT file_name, sha256, citation, license FROM sources")
    assert (name, sha, lic) == (f.name, hashlib.sha256(f.read_bytes()).hexdigest(), "CC BY 4.0")
    assert "10.1126/science.aaf1420" in cite
    data(store, "show", "c16")
    assert sha in capsys.readouterr().out


def test_kuzmin_tables_drop_the_marker(tmp_path):
    store = tmp_path / "store"
    data(store, "import", "kuzmin2020", str(kuzmin2020(tmp_path / "k20.tsv")), "--study", "k20", "--env",
         "temperature=26C")
    data(store, "import", "kuzmin2018", str(kuzmin2018(tmp_path / "k18.tsv")), "--study", "k18")
    _, rows = query(store, "SELECT study, genes, value, raw, \"env.temperature\" FROM rows "
                           "WHERE phenotype = 'genetic_interaction' ORDER BY study, value")
    assert rows == [("k18", ["YAL001C", "YCR003C", "YBR002W"], -0.123, None, None),
                    ("k18", ["YAL001C", "YBR002W"], -0.081, None, None),
                    ("k20", ["YAL001C", "YCR003C", "YBR002W"], -0.123, -0.1, 26.0),
                    ("k20", ["YAL001C", "YBR002W"], -0.081, -0.07, 26.0)]
    _, env = query(store, "SELECT study, name, kind, unit FROM env_columns")
    assert env == [("k20", "temperature", "numeric", "C")]
    _, fit = query(store, "SELECT genes, value FROM rows WHERE study = 'k20' AND phenotype = 'fitness' ORDER BY ALL")
    assert fit == [(["YAL001C"], 0.9), (["YAL001C", "YBR002W"], 0.8), (["YAL001C", "YCR003C"], 0.7),
                   (["YAL001C", "YCR003C", "YBR002W"], 0.5), (["YBR002W"], 0.95)]


@pytest.mark.skipif(not DCELL.exists(), reason="needs the shared DCell file")
def test_dcell_file_matches_a_line_by_line_reading(tmp_path):
    store = tmp_path / "store"
    data(store, "import", "dcell", str(DCELL), "--study", "go790", "--phenotype", "genetic_interaction")
    _, rows = query(store, "SELECT genes, value FROM rows")
    lines = [line.split() for line in DCELL.read_text().splitlines() if line.strip()]
    assert sorted((r[0], r[1]) for r in rows) == sorted(
        (f[1:1 + int(f[0])], float(f[-1])) for f in lines)


def test_table_format_with_environment_columns(tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("genes\tTemp\tCompound\tDose\tfitness\tepsilon\nYAL001C+YBR002W\t26\tdrugA\t10\t0.81\t-0.12\n"
                 "YCR003C\t30\tdrugA\t0.5\t0.95\tNA\n")
    store = tmp_path / "store"
    assert data(store, "import", "table", str(f), "--study", "mine", "--option", "genes=genes", "--option",
                'environment=[{column="Temp", type="numeric", unit="C"}, {column="Compound", type="dose", '
                'dose_column="Dose", unit="mM", name="drug"}]', "--unit", "fitness=relative") == 0
    _, rows = query(store, "SELECT phenotype, genes, \"env.temp\", \"env.drug\", \"env.drug.dose\", value, unit "
                           "FROM rows ORDER BY phenotype, value")
    assert rows == [("epsilon", ["YAL001C", "YBR002W"], 26.0, "drugA", 10000.0, -0.12, ""),
                    ("fitness", ["YAL001C", "YBR002W"], 26.0, "drugA", 10000.0, 0.81, "relative"),
                    ("fitness", ["YCR003C"], 30.0, "drugA", 500.0, 0.95, "relative")]
    _, env = query(store, "SELECT name, kind, unit FROM env_columns ORDER BY name")
    assert env == [("drug", "dose", "uM"), ("temp", "numeric", "C")]


def test_h5ad_profiles_are_condition_means(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    x[3, 2] = np.nan
    cond = np.array(["ctrl", "ctrl", "A+ctrl", "A+ctrl", "A+B", "B+ctrl"] * 2)
    obs = pd.DataFrame({"condition": cond}, index=[f"c{i}" for i in range(12)])
    var = pd.DataFrame({"gene_name": ["g1", "g2", "g3", "g4"]}, index=[f"e{i}" for i in range(4)])
    anndata.AnnData(x, obs=obs, var=var).write_h5ad(tmp_path / "p.h5ad")
    store = tmp_path / "store"
    assert data(store, "import", "h5ad", str(tmp_path / "p.h5ad"), "--study", "prof", "--kind", "knockdown") == 0
    _, rows = query(store, "SELECT list_sort(genes), kinds, feature, value, cells FROM rows")
    got = {(tuple(r[0]), r[2]): (r[3], r[4]) for r in rows}
    for c, genes in (("ctrl", ()), ("A+ctrl", ("A",)), ("A+B", ("A", "B")), ("B+ctrl", ("B",))):
        for j, g in enumerate(["g1", "g2", "g3", "g4"]):
            cells = x[cond == c, j]
            assert got[(genes, g)][0] == pytest.approx(float(np.nanmean(cells)), rel=1e-6)
            assert got[(genes, g)][1] == np.sum(~np.isnan(cells))
    assert {tuple(r[1]) for r in rows} == {(), ("knockdown",), ("knockdown", "knockdown")}


def test_pyarrow_dataset_reads_the_store_as_the_catalog_says(tmp_path):
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    store = tmp_path / "store"
    data(store, "import", "costanzo2016", str(costanzo(tmp_path / "SGA_NxN.txt")), "--study", "c16")
    data(store, "import", "kuzmin2020", str(kuzmin2020(tmp_path / "k20.tsv")), "--study", "k20")
    # the one-line read of docs/store.md
    table = ds.dataset(store / "data", format="parquet", partitioning="hive",
                       schema=pq.read_schema(store / "data" / "_common_metadata")).to_table()
    _, parts = query(store, "SELECT study, phenotype, sum(rows)::BIGINT FROM parts GROUP BY ALL ORDER BY ALL")
    counts = table.group_by(["study", "phenotype"]).aggregate([([], "count_all")]).sort_by([("study", "ascending"),
                                                                                          ("phenotype", "ascending")])
    assert list(zip(*[counts[c].to_pylist() for c in ("study", "phenotype", "count_all")])) == parts
    files = [store / p for (p,) in query(store, "SELECT path FROM parts")[1]]
    columns = {n for f in files for n in pq.read_schema(f).names} | {"study", "phenotype"}
    assert set(table.column_names) == columns
    _, sums = query(store, "SELECT study, phenotype, sum(value) FROM rows GROUP BY ALL ORDER BY ALL")
    got = table.group_by(["study", "phenotype"]).aggregate([("value", "sum")]).sort_by(
        [("study", "ascending"), ("phenotype", "ascending")])
    assert got["value_sum"].to_pylist() == pytest.approx([s[2] for s in sums])


def test_query_refuses_writes_and_remove_deletes(tmp_path, capsys):
    store = tmp_path / "store"
    data(store, "import", "costanzo2016", str(costanzo(tmp_path / "SGA_ExE.txt")), "--study", "c16")
    for sql, kind in (("DELETE FROM studies", "DELETE"), ("SELECT 1; INSERT INTO studies VALUES (1,2,3,4)", "INSERT"),
                      ("COPY (SELECT 1) TO 'x.csv'", "COPY"), ("CREATE TABLE t AS SELECT 1", "CREATE")):
        capsys.readouterr()
        assert data(store, "query", sql) == 2
        err = capsys.readouterr().err
        assert "read-only" in err and kind in err
    assert not (Path.cwd() / "x.csv").exists()
    assert query(store, "SELECT count(*) FROM studies")[1] == [(1,)]
    assert data(store, "remove", "C16") == 2
    assert "no study 'C16' in the store; did you mean 'c16'?" in capsys.readouterr().err
    assert data(store, "remove", "c16") == 0
    assert query(store, "SELECT count(*) FROM parts")[1] == [(0,)]
    assert not list((store / "data").rglob("*.parquet"))


def test_a_file_missing_format_columns_lists_them(tmp_path, capsys):
    rows = [r[:5] + r[6:] for r in COSTANZO_ROWS]
    from store_files import COSTANZO_HEADER, write_tsv

    header = COSTANZO_HEADER[:5] + COSTANZO_HEADER[6:]
    f = write_tsv(tmp_path / "SGA.txt", [h for h in header if h != "P-value"],
                  [r[:5] + r[6:] for r in rows])
    assert data(tmp_path / "store", "import", "costanzo2016", str(f), "--study", "x") == 2
    err = capsys.readouterr().err
    assert "not a costanzo2016 file: missing columns 'Genetic interaction score (ε)', 'P-value'" in err
    assert not (tmp_path / "store" / "data").exists()
    assert data(tmp_path / "store", "import", "costanzo2061", str(f), "--study", "x") == 2
    assert "did you mean 'costanzo2016'" in capsys.readouterr().err
