"""The ``store`` phenotype source: the replicate policies against hand-computed values, environment
filters, unknown names with suggestions, the same strains as the table source reading the same file,
and the run's provenance.json naming the studies and hashes it trained on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from cellreg.commands.cli import main

REAL = Path(__file__).resolve().parents[1] / "examples" / "real"
GENES = ["YAL001C", "YBR002W", "YCR003C", "YDL004W"]


def _import_table(store: Path, path: Path, study: str) -> None:
    assert main(["data", "import", "table", str(path), "--store", str(store), "--study", study, "--option", "genes=genes",
                 "--option", 'environment=[{column="Temp", type="numeric", unit="C", name="temperature"}]']) == 0


@pytest.fixture
def two_studies(tmp_path) -> Path:
    store = tmp_path / "store"
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text("genes\tTemp\tfitness\nYAL001C+YBR002W\t26\t0.8\nYCR003C\t26\t0.9\nYAL001C+YBR002W\t26\t0.7\n")
    b.write_text("genes\tTemp\tfitness\nYBR002W+YAL001C\t26\t0.6\nYAL001C+YBR002W\t30\t0.5\n")
    _import_table(store, a, "a")
    _import_table(store, b, "b")
    return store


def _source(store: Path, **options):
    from cellreg import Context
    from cellreg.config.schema import structure
    from cellreg_store.configs import StoreConfig
    from cellreg_store.source import StoreSource

    errors: list[str] = []
    config = structure({"store": str(store), **options}, StoreConfig, "phenotypes", errors)
    assert not errors, errors
    return StoreSource(config, Context())


def _strains(table) -> dict:
    temp = table.environment.column("temperature").values
    out = {}
    for s in range(table.num_strains):
        genes = tuple(sorted(table.gene_names[g] for g in table.genes[table.offsets[s]:table.offsets[s + 1]]))
        out.setdefault((genes, float(temp[s])), []).append((round(float(table.labels[s, 0]), 6),
                                                           str(table.tags["study"][s])))
    return {k: sorted(v) for k, v in out.items()}


def _graph():
    from cellreg.data.graph import CellGraph

    return CellGraph.from_edges(GENES, [])


AB, C = ("YAL001C", "YBR002W"), ("YCR003C",)


@pytest.mark.parametrize("policy, expected", [
    ("mean", {(AB, 26.0): [(0.7, "a+b")], (C, 26.0): [(0.9, "a")], (AB, 30.0): [(0.5, "b")]}),
    ("prefer", {(AB, 26.0): [(0.6, "b")], (C, 26.0): [(0.9, "a")], (AB, 30.0): [(0.5, "b")]}),
    ("keep", {(AB, 26.0): [(0.6, "b"), (0.75, "a")], (C, 26.0): [(0.9, "a")], (AB, 30.0): [(0.5, "b")]}),
])
def test_replicate_policies(two_studies, policy, expected):
    options = {"studies": ["a", "b"], "replicates": policy} | ({"prefer": ["b", "a"]} if policy == "prefer" else {})
    source = _source(two_studies, **options)
    table = source.load(_graph())
    assert table.label_names == ("fitness",)
    assert _strains(table) == expected
    assert table.environment.column("temperature").unit == "C"
    prov = source.provenance()
    assert [s["study"] for s in prov["sources"]] == ["a", "b"] and prov["replicates"] == policy


def test_environment_filter_and_unknown_names(two_studies):
    table = _source(two_studies, studies=["a", "b"], environment=[{"name": "temperature", "equals": 30}]).load(_graph())
    assert _strains(table) == {(AB, 30.0): [(0.5, "b")]}
    problems = _source(two_studies, studies=["a", "B"]).check()
    assert problems and "no study 'B' in the store; did you mean 'b'?" in problems[0]
    problems = _source(two_studies, studies=["a"], phenotypes=["fitnes"]).check()
    assert "did you mean 'fitness'?" in problems[0]
    problems = _source(two_studies, studies=["a"], environment=[{"name": "temp", "equals": 30}]).check()
    assert "no environment column 'temp'" in problems[0]


def test_a_run_from_the_store_matches_the_table_and_records_its_studies(tmp_path, monkeypatch):
    """The real benchmark's training file through the store: the same strains and labels as the table
    source, and the run records the study, file and sha256 it trained on."""
    monkeypatch.setenv("CELLREG_CACHE", "off")
    store = tmp_path / "store"
    train = REAL / "GO_0000790_train.tsv"
    assert main(["data", "import", "table", str(train), "--store", str(store), "--study", "go790", "--option",
                 'gene_columns=["gene_a", "gene_b"]', "--cite", "DCell, Ma et al. 2018"]) == 0
    common = f"""
seed = 0
[graph]
name = "edge_list"
genes = "{REAL / 'string_v9.1_genes.txt'}"
files = [{{ path = "{REAL / 'edges' / 'string_fusion.tsv'}", relation = "fusion", weight = "weight" }}]
[model.encoder]
name = "gene_embedding"
dim = 8
[model.head]
name = "sum_mlp"
hidden = 8
[train]
epochs = 1
batch_size = 256
labels = ["interaction"]
select = "val.interaction.pearson"
"""
    (tmp_path / "store.toml").write_text(f'name = "s"\n{common}\n[phenotypes]\nname = "store"\nstore = "{store}"\n'
                                         'studies = ["go790"]\n')
    (tmp_path / "table.toml").write_text(f'name = "t"\n{common}\n[phenotypes]\nname = "table"\npath = "{train}"\n'
                                         'gene_columns = ["gene_a", "gene_b"]\naggregate = "mean"\n')
    from cellreg.training.pipeline import Pipeline

    a, b = (Pipeline.from_file(tmp_path / f"{n}.toml").data.table for n in ("store", "table"))
    assert a.label_names == b.label_names == ("interaction",)

    def by_set(t):
        pairs = np.sort(t.genes.reshape(-1, 2), axis=1)
        return dict(zip(map(tuple, pairs.tolist()), t.labels[:, 0].tolist()))

    assert by_set(a) == by_set(b) and a.num_strains == b.num_strains
    assert main(["run", str(tmp_path / "store.toml"), "--out", str(tmp_path / "run")]) == 0
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    (source,) = prov["sources"]
    assert (source["study"], source["file"], source["citation"]) == ("go790", train.name, "DCell, Ma et al. 2018")
    assert source["sha256"] == hashlib.sha256(train.read_bytes()).hexdigest()
    assert [p["study"] for p in prov["parts"]] == ["go790"] and prov["stats"]["strains"] == a.num_strains


@pytest.mark.parametrize("largest, fixed", [(3, True), (4, False), (7, False)])  # matrix, padded, sorting paths
def test_drop_repeated_genes_matches_a_loop(largest, fixed):
    from cellreg_store.merge import drop_repeated_genes

    rng = np.random.default_rng(largest)
    sizes = np.full(500, largest) if fixed else rng.integers(1, largest + 1, 500)
    genes = rng.integers(0, 6, int(sizes.sum()))
    kinds = rng.integers(0, 3, len(genes)).astype(np.int8)
    g, k, s, n = drop_repeated_genes(genes, kinds, sizes)
    offsets, expected, hit = np.concatenate([[0], np.cumsum(sizes)]), [], 0
    for r in range(len(sizes)):
        seen, row = set(), []
        for gene, kind in zip(genes[offsets[r]:offsets[r + 1]], kinds[offsets[r]:offsets[r + 1]]):
            if gene not in seen:
                seen.add(gene)
                row.append((gene, kind))
        hit += len(row) < sizes[r]
        expected.append(row)
    got_offsets = np.concatenate([[0], np.cumsum(s)])
    assert [list(zip(g[got_offsets[r]:got_offsets[r + 1]], k[got_offsets[r]:got_offsets[r + 1]]))
            for r in range(len(s))] == expected
    assert n == hit


def test_profiles_from_the_store_are_changes_from_the_reference(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    cond = np.array(["ctrl", "ctrl", "YAL001C+ctrl", "YAL001C+ctrl", "YAL001C+YBR002W"] * 2)
    var = pd.DataFrame({"gene_name": ["f1", "f2", "f3"]}, index=["e1", "e2", "e3"])
    anndata.AnnData(x, obs=pd.DataFrame({"condition": cond}, index=[f"c{i}" for i in range(10)]),
                    var=var).write_h5ad(tmp_path / "p.h5ad")
    store = tmp_path / "store"
    assert main(["data", "import", "h5ad", str(tmp_path / "p.h5ad"), "--store", str(store), "--study", "prof"]) == 0
    table = _source(store, studies=["prof"]).load(_graph())
    assert table.label_names == ("expression:f1", "expression:f2", "expression:f3")
    (group,) = table.label_groups
    assert group.kind.value == "profile" and group.name == "expression"
    ref = x[cond == "ctrl"].mean(axis=0)
    got = {tuple(sorted(table.gene_names[g] for g in table.genes[table.offsets[s]:table.offsets[s + 1]])): table.labels[s]
           for s in range(table.num_strains)}
    assert set(got) == {("YAL001C",), ("YAL001C", "YBR002W")}  # the reference is not a strain to predict
    np.testing.assert_allclose(got[("YAL001C",)], x[cond == "YAL001C+ctrl"].mean(axis=0) - ref, rtol=1e-5)
    np.testing.assert_allclose(got[("YAL001C", "YBR002W")], x[cond == "YAL001C+YBR002W"].mean(axis=0) - ref, rtol=1e-5)
    levels = _source(store, studies=["prof"], profiles="level").load(_graph())
    assert levels.num_strains == 3


def test_a_cached_load_equals_the_first(two_studies, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    first_source, again = (_source(two_studies, studies=["a", "b"]) for _ in range(2))
    first = first_source.load(_graph())
    assert list((tmp_path / "cache" / "tables").glob("store-*.npys"))
    cached = again.load(_graph())
    assert cached.fingerprint() == first.fingerprint() and again.report() == first_source.report()
    assert _strains(cached) == _strains(first)
