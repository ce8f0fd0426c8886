"""Tables at scale: the columnar engine against the line reader (its reference), the content-keyed
cache, replicate averaging, row filters, gene aliases, carried columns, and their errors."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest

from cellreg import Context
from cellreg.config import structure
from cellreg.data.graph import CellGraph
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.strain_table import load_strain_table
from cellreg.plugin_api.registry import load_registry
from cellreg.toolkit import table_cache
from cellreg_files import edges as edges_module
from cellreg_files.configs import EdgeListConfig, TableConfig
from test_files_plugin import make

GENES = ["YAL001C", "YBR002W", "YCR003C", "YDL227C", "YDR004W", "YEL005C"]


def write(path, text, crlf=False, gz=False):
    data = (text.replace("\n", "\r\n") if crlf else text).encode()
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def edge_source(tmp_path, table):
    return load_registry().get("graph", "edge_list").load_factory()(make(EdgeListConfig, table),
                                                                    Context(base_dir=tmp_path))


def table_source(tmp_path, table):
    return load_registry().get("phenotypes", "table").load_factory()(make(TableConfig, table),
                                                                     Context(base_dir=tmp_path))


def graph_arrays(g: CellGraph):
    return g.genes, [(name, r.directed, r.edge_index.numpy().tolist(),
                      None if r.weight is None else r.weight.numpy().tolist()) for name, r in g.relations.items()]


def table_arrays(t: PhenotypeTable):
    return (t.offsets.tolist(), t.genes.tolist(), t.kinds.tolist(), np.nan_to_num(t.labels, nan=-9).tolist(),
            t.label_names, t.gene_names, {k: v.tolist() for k, v in t.tags.items()})


def both(load):
    """``load(engine)`` with each engine: results and warning texts; and whether the line reader ran
    under "auto" (the columnar engine fell back)."""
    out = []
    for engine in ("lines", "auto"):
        calls = []
        with warnings.catch_warnings(record=True) as caught, pytest.MonkeyPatch.context() as mp:
            warnings.simplefilter("always")
            for mod, name in ((edges_module, "read_edge_lines"),):
                real = getattr(mod, name)
                mp.setattr(mod, name, lambda *a, _r=real, **k: (calls.append(1), _r(*a, **k))[1])
            import cellreg.data.strain_rows as rows_module

            real_lines = rows_module.read_lines
            mp.setattr(rows_module, "read_lines", lambda *a, **k: (calls.append(1), real_lines(*a, **k))[1])
            result = load(engine)
        out.append((result, sorted(str(w.message) for w in caught), bool(calls)))
    return out


STRING_HEADER = "protein1 protein2 neighborhood fusion cooccurence coexpression experimental database " \
                "textmining combined_score\n"
STRING_ROWS = "".join(f"4932.{a} 4932.{b} 0 0 0 {37 * i % 500} {61 * i % 900} 0 {i} {100 + i}\n"
                      for i, (a, b) in enumerate((a, b) for a in GENES for b in GENES if a != b))
BIOGRID = "#BioGRID Interaction ID\tSystematic Name Interactor A\tSystematic Name Interactor B\t" \
          "Experimental System Type\tOrganism ID Interactor A\n" + "".join(
              f"{i}\t{a}\t{b}\t{'physical' if i % 3 else 'genetic'}\t559292\n"
              for i, (a, b) in enumerate(zip(GENES * 3, GENES[2:] + GENES * 2)) if a != b)
STRING_FILE = {"path": "s.txt", "strip_prefix": "4932.", "min_score": 1}
TAB3 = {"path": "b.tab3.txt", "comment": "", "source": "Systematic Name Interactor A",
        "target": "Systematic Name Interactor B"}

EDGE_CASES = {
    # name: (files {name: text}, [[graph.files]] tables, write options, the columnar engine is used)
    "string_detailed": ({"s.txt": STRING_HEADER + STRING_ROWS},
                        [{**STRING_FILE, "relation": "coexp", "weight": "coexpression"},
                         {**STRING_FILE, "relation": "comb", "weight": "combined_score", "min_score": 110}], {}, True),
    "biogrid_tab3": ({"b.tab3.txt": BIOGRID},
                     [{**TAB3, "relation": "physical",
                       "filter": {"column": "Experimental System Type", "equals": "physical"}},
                      {**TAB3, "relation": "genetic",
                       "filter": {"column": "Experimental System Type", "equals": "genetic"}}], {}, True),
    "relation_column_csv": ({"m.csv": "a,b,kind\n" + "".join(f"{a},{b},{'xy'[i % 2]}\n" for i, (a, b)
                                                           in enumerate(zip(GENES, GENES[1:])))},
                            [{"path": "m.csv", "source": "a", "target": "b", "relation_column": "kind"}], {}, True),
    "header_false_relation_first": ({"m.txt": "A B z\nB C y\nC D z\n"},
                                    [{"path": "m.txt", "relation_column": 2, "header": False}], {}, True),
    "auto_header_guess": ({"h.tsv": "gene_a\tgene_b\nA\tB\nB\tC\n", "k.tsv": "A\tB\n"},
                          [{"path": "h.tsv", "relation": "r"}, {"path": "k.tsv", "relation": "r"}], {}, True),
    "directed_weighted_crlf": ({"d.tsv": "tf\ttarget\tw\nA\tB\t0.5\nB\tA\t2\nA\tB\t0.7\nC\tC\t1\n"},
                               [{"path": "d.tsv", "relation": "reg", "source": "tf", "target": "target",
                                 "weight": "w", "directed": True}], {"crlf": True}, True),
    "gzip_string": ({"s.txt.gz": STRING_HEADER + STRING_ROWS},
                    [{**STRING_FILE, "path": "s.txt.gz", "relation": "exp", "weight": "experimental"}],
                    {"gz": True}, True),
    "comment_lines": ({"c.txt": "# a comment\nA B\n# another\nB C\n\nC D\n"},
                      [{"path": "c.txt", "relation": "r"}], {}, False),
    "runs_of_spaces": ({"w.txt": "A B 1\nB   C  2\n"}, [{"path": "w.txt", "relation": "r", "weight": 2}], {}, False),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_engines_agree_on_edge_files(tmp_path, case):
    files, specs, options, fast = EDGE_CASES[case]
    for name, text in files.items():
        write(tmp_path / name, text, **options)
    source = edge_source(tmp_path, {"files": specs})
    (slow, slow_warn, _), (quick, quick_warn, fell_back) = both(source.load)
    assert graph_arrays(quick) == graph_arrays(slow)
    assert quick_warn == slow_warn
    assert fell_back == (not fast)


def test_unknown_edge_genes_name_the_same_lines(tmp_path):
    write(tmp_path / "genes.txt", "A\nB\nC\n")
    write(tmp_path / "e.tsv", "A\tB\nB\tX\n\nC\tA\nY\tZ\n")  # a blank line: line numbers by one pass
    source = edge_source(tmp_path, {"genes": "genes.txt", "unknown_genes": "drop",
                                    "files": [{"path": "e.tsv", "relation": "r"}]})
    (slow, slow_warn, _), (quick, quick_warn, fell_back) = both(source.load)
    assert graph_arrays(quick) == graph_arrays(slow) and not fell_back
    assert quick_warn == slow_warn and "'X' (line 2" in quick_warn[0] and "'Y' (line 5" in quick_warn[0]


COSTANZO_HEADER = "Query Strain ID\tQuery allele name\tArray Strain ID\tArray allele name\tArraytype/Temp\t" \
                  "Genetic interaction score (ε)\tP-value\tQuery single mutant fitness (SMF)\tArray SMF\t" \
                  "Double mutant fitness\tDouble mutant fitness standard deviation\n"


def costanzo_rows(n=30):
    out = []
    for i in range(n):
        q, a = GENES[i % 5], GENES[(i * 7 + 1) % 6]
        eps = "NaN" if i % 11 == 0 else f"{(i % 9 - 4) / 50:.3f}"
        out.append(f"{q}_tsq{i % 3}\t{q.lower()}-1\t{a}_dma{i % 2}\tx{i}\t{'DMA30' if i % 4 else 'DMA26'}\t{eps}\t"
                   f"{i / 100:.2f}\t0.9\t0.8\t{0.5 + i / 100:.3f}\t0.04\n")
    return "".join(out)


COSTANZO = {"path": "SGA.txt", "gene_columns": ["Query Strain ID", "Array Strain ID"], "strip_suffix": "_",
            "labels": ["Genetic interaction score (ε)", "P-value", "Double mutant fitness"]}
KUZMIN = "Query strain ID\tArray strain ID\tCombined mutant type\tAdjusted genetic interaction score (epsilon or tau)\n" \
         "YAL001C_tm1+YDL227C_y13\tYBR002W_dma1\tdigenic\t-0.1\n" \
         "YAL001C_tm1+YCR003C_tm2\tYBR002W_dma1\ttrigenic\t0.2\n" \
         "YDL227C_y1+YDR004W_tm3\tYDR004W_dma4\tdigenic\tNA\n"
TABLE_CASES = {
    "costanzo": ({"SGA.txt": COSTANZO_HEADER + costanzo_rows()}, COSTANZO, {}, True),
    "costanzo_filter_keep_mean": ({"SGA.txt": COSTANZO_HEADER + costanzo_rows()},
                                  {**COSTANZO, "filter": [{"column": "Arraytype/Temp", "equals": "DMA30"}],
                                   "keep": ["Arraytype/Temp"], "aggregate": "mean"}, {}, True),
    "costanzo_conditions": ({"SGA.txt": COSTANZO_HEADER + costanzo_rows()},
                            {**COSTANZO, "conditions": ["Arraytype/Temp"], "aggregate": "mean"}, {"crlf": True}, True),
    "kuzmin": ({"k.tsv": KUZMIN}, {"path": "k.tsv", "gene_columns": ["Query strain ID", "Array strain ID"],
                                   "strip_suffix": "_", "drop_genes": ["YDL227C"],
                                   "labels": ["Adjusted genetic interaction score (epsilon or tau)"]}, {}, True),
    "joined_kinds_csv_gz": ({"p.csv.gz": "genes,kinds,fit,note\nYAL001C+YBR002W,deletion+overexpression,0.5,a\n"
                                         "YCR003C,,NA,b\n,,1.0,wt\nYEL005C+YAL001C,knockdown,2,c\n"},
                            {"path": "p.csv.gz", "genes": "genes", "kinds": "kinds", "labels": ["fit"],
                             "keep": ["note"]}, {"gz": True}, True),
    "comment_and_quotes": ({"q.csv": 'genes,fit\n# a note\n"YAL001C+YBR002W",1\nYCR003C,2\n'},
                           {"path": "q.csv", "genes": "genes"}, {}, False),
    # labels kept as read are parsed into float32: one beyond its range is left to the line reader
    "beyond_float32": ({"f.tsv": "genes\tfit\nYAL001C\t1e300\nYCR003C\t0.1\n"},
                       {"path": "f.tsv", "genes": "genes"}, {}, False),
    "beyond_float32_averaged": ({"f.tsv": "genes\tfit\nYAL001C\t1e300\nYAL001C\t-1e300\nYCR003C\t0.1\n"},
                                {"path": "f.tsv", "genes": "genes", "aggregate": "mean"}, {}, True),
}


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_engines_agree_on_strain_tables(tmp_path, case):
    files, table, options, fast = TABLE_CASES[case]
    for name, text in files.items():
        write(tmp_path / name, text, **options)
    graph = CellGraph.from_edges(GENES, [])
    config = make(TableConfig, table)
    (slow, slow_warn, _), (quick, quick_warn, fell_back) = both(
        lambda engine: load_strain_table(tmp_path / table["path"], graph, config, engine))
    assert table_arrays(quick[0]) == table_arrays(slow[0]) and quick[1] == slow[1]
    assert quick_warn == slow_warn
    assert fell_back == (not fast)


def test_unknown_strain_genes_name_the_same_lines(tmp_path):
    write(tmp_path / "p.tsv", "genes\tfit\nYAL001C\t1\nXYZ1+YBR002W\t2\n\n# note\t5\nyal001c\t3\nYCR003C\t4\n")
    graph = CellGraph.from_edges(GENES, [])
    config = make(TableConfig, {"path": "p.tsv", "genes": "genes", "unknown_genes": "drop", "comment": ""})
    (slow, slow_warn, _), (quick, quick_warn, fell_back) = both(
        lambda engine: load_strain_table(tmp_path / "p.tsv", graph, config, engine))
    assert table_arrays(quick[0]) == table_arrays(slow[0]) and not fell_back
    assert quick_warn == slow_warn
    assert "'XYZ1' (line 3" in quick_warn[0] and "'# note' (line 5" in quick_warn[0] \
        and "'yal001c' (line 6, column 'genes'; did you mean 'YAL001C'?)" in quick_warn[0]


def test_columnar_errors_are_the_line_readers(tmp_path):
    graph = CellGraph.from_edges(GENES, [])
    cases = [("genes\tfit\nYAL001C\t1\nYBR002W\tslow\n", "line 3, column 'fit': expected a number, got 'slow'"),
             ("genes\tfit\nYAL001C\t1\nYBR002W\tinf\n", "line 3, column 'fit': expected a finite number"),
             ("genes\tfit\tx\nYAL001C\t1\t2\nYBR002W\n", r"line 3 has 1 field\(s\), expected at least 2"),
             ("genes\tfit\nYAL001C\t1\nXX\t2\n", "1 unknown gene name on 1 line")]
    for text, message in cases:
        write(tmp_path / "p.tsv", text)
        config = make(TableConfig, {"path": "p.tsv", "genes": "genes", "labels": ["fit"]})
        for engine in ("lines", "auto"):
            with pytest.raises(ValueError, match=message):
                load_strain_table(tmp_path / "p.tsv", graph, config, engine)


# ------------------------------------------------------------------------------------------ cache


def test_cache_round_trip_and_invalidation(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    write(tmp_path / "SGA.txt", COSTANZO_HEADER + costanzo_rows())
    write(tmp_path / "s.txt", STRING_HEADER + STRING_ROWS)
    graph = CellGraph.from_edges(GENES, [])
    table = {**COSTANZO, "keep": ["Arraytype/Temp"], "conditions": ["Arraytype/Temp"], "aggregate": "mean"}
    source = table_source(tmp_path, table)
    first = source.load(graph)
    parsed = []
    monkeypatch.setattr("cellreg.data.strain_rows.read_rows", lambda *a, **k: parsed.append(1))
    again = table_source(tmp_path, table)
    second = again.load(graph)
    assert not parsed and table_arrays(second) == table_arrays(first) and again.stats == source.stats
    # the entry's stored fingerprint is the one hashing the loaded table gives (codes tags included)
    assert second.fingerprint() == first.fingerprint() == second._content_hash()
    assert second.tags["Arraytype/Temp"].tolist() == first.tags["Arraytype/Temp"].tolist()
    entry, = (tmp_path / "cache" / "tables").glob("strains-*.npys")
    z = table_cache.read_records(entry)  # stored narrow, restored to the table's own types
    assert z["sizes"].dtype == np.uint8 and z["genes"].dtype == np.uint8 and z["tag0_codes"].dtype == np.uint8
    assert (second.offsets.dtype, second.genes.dtype) == (np.int64, np.int32)
    monkeypatch.undo()
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    # the same size and a new content: a new key (size and mtime are not content)
    text = (tmp_path / "SGA.txt").read_text().replace("0.5", "0.6", 1)
    write(tmp_path / "SGA.txt", text)
    changed = table_source(tmp_path, table).load(graph)
    assert not np.array_equal(changed.labels, first.labels, equal_nan=True)
    assert len(list((tmp_path / "cache" / "tables").glob("strains-*.npys"))) == 2

    spec = {"files": [{**STRING_FILE, "relation": "coexp", "weight": "coexpression"}]}
    g1 = edge_source(tmp_path, spec).load()
    monkeypatch.setattr(edges_module, "read_edge_file", lambda *a, **k: pytest.fail("parsed again"))
    assert graph_arrays(edge_source(tmp_path, spec).load()) == graph_arrays(g1)


def test_cache_replays_warnings(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    write(tmp_path / "p.tsv", "genes\tfit\nYAL001C\t1\nXX\t2\n")
    graph = CellGraph.from_edges(GENES, [])
    for _ in range(2):
        with pytest.warns(UserWarning, match="'XX' \\(line 3.*dropped 1 of 2 strains"):
            table_source(tmp_path, {"path": "p.tsv", "genes": "genes", "unknown_genes": "drop"}).load(graph)


# ------------------------------------------------------------------------------ replicates, keep


def test_mean_of_replicates_matches_a_hand_computed_reference(tmp_path):
    write(tmp_path / "p.tsv", "g1\tg2\ttemp\tsplit\ta\tb\n"
                              "YAL001C\tYBR002W\t30\ttrain\t1\t10\n"   # group 1
                              "YBR002W\tYAL001C\t30\ttrain\t3\tNA\n"   # group 1: the same set, other order
                              "YAL001C\tYBR002W\t26\ttrain\t5\t7\n"    # group 2: another condition
                              "YCR003C\t\t30\ttest\tNA\tNA\n"          # group 3
                              "YCR003C\t\t30\ttest\tNA\t4\n"           # group 3
                              "YAL001C\tYBR002W\t30\ttrain\t8\t20\n")  # group 1
    graph = CellGraph.from_edges(GENES, [])
    source = table_source(tmp_path, {"path": "p.tsv", "gene_columns": ["g1", "g2"], "labels": ["a", "b"],
                                     "conditions": ["temp"], "keep": ["split"], "aggregate": "mean"})
    t = source.load(graph)
    sets = [sorted(graph.genes[g] for g in t.strain(s)[0]) for s in range(t.num_strains)]
    assert sets == [["YAL001C", "YBR002W"], ["YAL001C", "YBR002W"], ["YCR003C"]]
    np.testing.assert_allclose(t.labels, [[(1 + 3 + 8) / 3, (10 + 20) / 2], [5, 7], [np.nan, 4]])
    assert t.tags["split"].tolist() == ["train", "train", "test"] and t.tags["temp"].tolist() == ["30", "26", "30"]
    assert (source.stats.rows, source.stats.replicate_rows, source.stats.merged_strains, source.stats.strains) \
        == (6, 3, 2, 3)
    # rows merged into one strain must agree on a kept column
    write(tmp_path / "p.tsv", "g1\tsplit\ta\nYAL001C\ttrain\t1\nYBR002W\ttest\t2\nYAL001C\ttest\t3\n")
    with pytest.raises(ValueError, match=r"lines 2 and 4 are replicates .* kept column 'split' \('train' vs 'test'\)"):
        table_source(tmp_path, {"path": "p.tsv", "gene_columns": ["g1"], "keep": ["split"],
                                "aggregate": "mean"}).load(graph)


def test_tags_survive_dropping_select_and_save(tmp_path):
    write(tmp_path / "p.tsv", "genes\tsplit\tfit\nYAL001C\ttrain\t1\nXX\tval\t2\nYCR003C\ttest\t3\n")
    graph = CellGraph.from_edges(GENES, [])
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        t = table_source(tmp_path, {"path": "p.tsv", "genes": "genes", "keep": ["split"],
                                    "unknown_genes": "drop"}).load(graph)
    assert t.label_names == ("fit",) and t.tags["split"].tolist() == ["train", "test"]
    assert t.select(np.array([1, 0, 1])).tags["split"].tolist() == ["test", "train", "test"]
    t.save(tmp_path / "t.npz")
    back = PhenotypeTable.load(tmp_path / "t.npz")
    assert back.tags["split"].tolist() == ["train", "test"] and back.fingerprint() == t.fingerprint()
    assert PhenotypeTable(t.offsets, t.genes, t.kinds, t.labels, t.label_names, t.gene_names).fingerprint() \
        != t.fingerprint()
    retagged = PhenotypeTable(t.offsets, t.genes, t.kinds, t.labels, t.label_names, t.gene_names,
                              {"split": ["train", "val"]})
    assert retagged.fingerprint() != t.fingerprint()  # a tag's values are content
    assert PhenotypeTable(t.offsets, t.genes, t.kinds, t.labels, t.label_names, t.gene_names,
                          {"split": np.array(["train", "test"])}).fingerprint() == t.fingerprint()


# --------------------------------------------------------------------------------- filter, aliases


def test_filter_equals_one_of_and_no_row_kept(tmp_path):
    write(tmp_path / "SGA.txt", COSTANZO_HEADER + costanzo_rows(12))
    graph = CellGraph.from_edges(GENES, [])
    temps = ["DMA30" if i % 4 else "DMA26" for i in range(12)]
    t = table_source(tmp_path, {**COSTANZO, "filter": [{"column": "Arraytype/Temp", "equals": "DMA26"}],
                                "keep": ["Query allele name"]}).load(graph)
    assert t.num_strains == temps.count("DMA26")
    source = table_source(tmp_path, {**COSTANZO, "filter": [{"column": "Arraytype/Temp",
                                                             "one_of": ["DMA26", "DMA30"]}]})
    assert source.load(graph).num_strains == 12 and source.stats.filtered_out == 0
    for engine in ("lines", "auto"):
        config = make(TableConfig, {**COSTANZO, "filter": [{"column": "Arraytype/Temp", "equals": "TSA30"}]})
        with pytest.raises(ValueError, match=r"SGA.txt: filter\[0\] \(column 'Arraytype/Temp' equals 'TSA30'\) "
                                             r"keeps none of the 12 rows; column 'Arraytype/Temp' holds: "
                                             r"'DMA26', 'DMA30'"):
            load_strain_table(tmp_path / "SGA.txt", graph, config, engine)
    with pytest.raises(ValueError, match=r"no column 'Temp' \(filter\[0\].column\); columns are: 'Query Strain ID'"):
        table_source(tmp_path, {**COSTANZO, "filter": [{"column": "Temp", "equals": "x"}]}).load(graph)


def test_aliases_for_tables_and_edges(tmp_path):
    write(tmp_path / "aliases.tsv", "# standard name -> systematic name\nTFC3\tYAL001C\nRER2\tYBR002W\n")
    write(tmp_path / "p.tsv", "genes\tfit\ntfc3+Rer2\t1\nYCR003C\t2\nyal001c\t3\n")
    graph = CellGraph.from_edges(GENES, [])
    t = table_source(tmp_path, {"path": "p.tsv", "genes": "genes", "aliases": "aliases.tsv"}).load(graph)
    assert [sorted(graph.genes[g] for g in t.strain(s)[0]) for s in range(3)] == \
        [["YAL001C", "YBR002W"], ["YCR003C"], ["YAL001C"]]
    write(tmp_path / "p.tsv", "genes\tfit\nTFC33\t1\n")
    with pytest.raises(ValueError, match=r"'TFC33' \(line 2, column 'genes'; did you mean 'TFC3'\?\)"):
        table_source(tmp_path, {"path": "p.tsv", "genes": "genes", "aliases": "aliases.tsv"}).load(graph)
    write(tmp_path / "e.tsv", "tfc3\tRER2\nRER2\tYCR003C\n")
    g = edge_source(tmp_path, {"aliases": "aliases.tsv", "files": [{"path": "e.tsv", "relation": "r"}]}).load()
    assert g.genes == ("YAL001C", "YBR002W", "YCR003C") and g.relations["r"].num_edges == 2
    write(tmp_path / "genes.txt", "\n".join(GENES) + "\n")
    g = edge_source(tmp_path, {"genes": "genes.txt", "aliases": "aliases.tsv",
                               "files": [{"path": "e.tsv", "relation": "r"}]}).load()
    assert g.genes == tuple(GENES) and g.relations["r"].num_edges == 2
    source = edge_source(tmp_path, {"aliases": "missing.tsv", "files": [{"path": "e.tsv", "relation": "r"}]})
    assert source.check() == [f"graph.aliases: no such file: {tmp_path / 'missing.tsv'}"]


@pytest.mark.parametrize("table, message", [
    ({"aggregate": "median"}, "aggregate"),
    ({"conditions": ["temp"]}, "'conditions' tell replicates apart for aggregate = \"mean\""),
    ({"keep": ["genes"]}, "'keep': column 'genes' holds genes or kinds"),
    ({"keep": ["fit"], "labels": ["fit"]}, "'keep': column 'fit' is also a label"),
    ({"filter": [{"column": "t", "equals": "a", "one_of": ["b"]}]}, "give exactly one of equals"),
    ({"filter": [{"column": "t", "one_of": []}]}, "'one_of' must not be empty"),
    ({"filter": {"column": "t", "equals": "a"}}, "phenotypes.filter"),
])
def test_new_options_errors_name_the_key(table, message):
    errors: list[str] = []
    structure({"path": "p.tsv", "genes": "genes", **table}, TableConfig, "phenotypes", errors)
    assert errors and any(message in e for e in errors), errors


def test_cache_entries_are_keyed_by_the_reading_code(tmp_path, monkeypatch):
    """An entry written by other parsing code is never served: the key hashes the readers' source."""

    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    (tmp_path / "t.tsv").write_text("a\tb\n")
    same = [table_cache.Entry("strains", [tmp_path / "t.tsv"], {}, code=("cellreg.data.strain_table",)).path
            for _ in range(2)]
    other = table_cache.Entry("strains", [tmp_path / "t.tsv"], {}, code=("cellreg.data.replicates",)).path
    assert same[0] == same[1] != other
    monkeypatch.setattr(table_cache, "code_digest", lambda modules: "an edited reader")
    assert table_cache.Entry("strains", [tmp_path / "t.tsv"], {}, code=("cellreg.data.strain_table",)).path != same[0]


@pytest.mark.parametrize("engine", ["lines", "auto"])
def test_an_edge_filter_that_keeps_nothing_says_what_the_column_holds(tmp_path, engine):
    from cellreg_files.configs import EdgeFile, EdgeListConfig, RowFilter
    from cellreg_files.edges import EdgeListSource

    (tmp_path / "b.tsv").write_text("A\tB\tType\nG1\tG2\tphysical\nG2\tG3\tgenetic\n")
    config = EdgeListConfig(files=[EdgeFile(path="b.tsv", relation="p", source="A", target="B",
                                            filter=RowFilter(column="Type", equals="Physical"))])
    with pytest.raises(ValueError, match=r"graph.files\[0\].filter \('Type' equals 'Physical'\) keeps none of its rows; "
                                         r"did you mean 'physical'\?; the column holds 'physical', 'genetic'"):
        EdgeListSource(config, Context(base_dir=tmp_path)).load(engine)


def test_arrow_chunks_read_from_their_buffers_are_to_numpys():
    import pyarrow as pa

    from cellreg.toolkit.columnar import chunk_to_numpy

    cases = [pa.array([1.5, None, -2.0, None, 4.0] * 3, pa.float64()), pa.array(list(range(17)), pa.int32()),
             pa.array([1.0, 2.0, None], pa.float32()), pa.array([], pa.float64()), pa.array([True, None, False]),
             pa.array([3, None, 5], pa.int64()), pa.array(["a", "b", "a"]).dictionary_encode().indices]
    for array in cases:
        for part in (array, array.slice(1), array.slice(2, 9)):  # offsets into the buffers, as chunks have
            expected = part.to_numpy(zero_copy_only=False)
            got = chunk_to_numpy(part)
            assert got.dtype == expected.dtype and got.shape == expected.shape, (part.type, part.offset)
            np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("text", [b"h\na\nb\n", b"h\na\nb", b"h\na\n\n\nb\n", b"h\n", b"h\r\na\r\nb", b"h\ra\rb\r\n",
                                  b"h\n" + b"x\ty\n" * 70000 + b"z"])
def test_lines_counted_in_place_equal_the_chunk_by_chunk_count(tmp_path, text, monkeypatch):
    from cellreg.toolkit import columnar, mapped_file

    path = tmp_path / "t.tsv"
    path.write_bytes(text)
    monkeypatch.setattr(columnar, "CHUNK", 1 << 16)  # several chunks and windows for the long file
    monkeypatch.setattr(mapped_file, "WINDOW", 1 << 16)
    reference = columnar.LineCount()
    for chunk in columnar.chunks_after(path, 2):
        reference.add(chunk)
    assert columnar.count_lines(path, 2) == (reference.physical, reference.lone_cr)


@pytest.mark.parametrize("text", [b"a\nb\nc\nd", b"a\nb\n\nc\nd\n", b"\na\nb\n", b"a\r\nb\r\nc\n", b"a\nb\nc\n\n",
                                  b"x\n" * 5000 + b"\n" + b"y\n" * 5000, b"x\n" * 9000 + b"z"])
def test_a_prefix_of_plain_lines_is_found_as_far_as_it_goes(tmp_path, text, monkeypatch):
    """plain_prefix equals asking of each of the first n lines whether it is empty or holds a \r."""
    from cellreg.toolkit import columnar, mapped_file

    monkeypatch.setattr(mapped_file, "WINDOW", 4096)  # the long files span windows
    path = tmp_path / "t.tsv"
    path.write_bytes(b"head\n" + text)
    lines = text.split(b"\n")
    lines = lines[:-1] if text.endswith(b"\n") else lines
    for n in sorted({0, 1, 2, 3, 4, 5, 4999, 5000, 5001, 5002, 9000, 9001, 10002, 20000}):
        expected = n <= len(lines) and all(line and b"\r" not in line for line in lines[:n])
        assert columnar.plain_prefix(path, 5, n) == expected, n


def test_line_numbers_from_a_plain_prefix_are_the_line_readers(tmp_path):
    from cellreg.toolkit import columnar

    write(tmp_path / "p.tsv", "genes\tfit\nYAL001C\t1\nYBR002W\t2\nYCR003C\t3\n\nYAL001C\t4\n")
    file = columnar.ColumnFile(tmp_path / "p.tsv", "\t", "")
    reference = columnar.data_lines(tmp_path / "p.tsv", "\t", "")[1:]
    for rows in ([0], [0, 2], [3], [1, 3]):
        columns = file.read(text=[0], numbers=[1], missing=True)
        assert columns.line_of(np.array(rows)).tolist() == reference[rows].tolist()


def test_rows_keep_no_arrow_memory_once_converted(tmp_path):
    """The parse's Arrow table is gone when the rows are returned (their line numbers do not hold it),
    so the memory Arrow's pool kept can be handed back before the table is built."""
    import pyarrow as pa

    from cellreg.data.strain_rows import read_rows

    write(tmp_path / "SGA.txt", COSTANZO_HEADER + costanzo_rows())
    config = make(TableConfig, {**COSTANZO, "conditions": ["Arraytype/Temp"], "aggregate": "mean"})
    before = pa.total_allocated_bytes()
    rows, _ = read_rows(tmp_path / "SGA.txt", config, COSTANZO["labels"])
    assert pa.total_allocated_bytes() == before
    reference = columnar_lines(tmp_path / "SGA.txt")
    assert rows.line_of(np.array([0, 2])).tolist() == reference[[0, 2]].tolist()


def columnar_lines(path):
    from cellreg.toolkit import columnar

    return columnar.data_lines(path, "\t", "")[1:]


def test_compacting_in_place_is_boolean_indexing():
    from cellreg.data.strain_table import _compact

    rng = np.random.default_rng(4)
    for n, p in ((0, 0.5), (1, 0.0), (10, 0.9), (100, 0.97), (101, 0.3)):
        a = rng.integers(0, 1000, n).astype(np.int32)
        keep = rng.random(n) < p
        expected = a[keep]
        own = a.copy()
        got = _compact(keep, own, block=3)
        np.testing.assert_array_equal(got, expected)
        assert got.base is own or not len(own)  # over the front of the array itself


def test_a_table_read_ahead_is_the_load_it_stands_for(tmp_path, monkeypatch):
    """Read ahead where the cache would hash the file (cold), taken by the load: the same table and
    warnings, the rows parsed once, on the thread. Not where the file's digest is remembered (warm),
    and a failure reaches the load with the load's own message."""
    import threading

    from cellreg.data import strain_rows, strain_table

    monkeypatch.setenv("CELLREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLREG_CACHE_MIN_BYTES", "0")
    write(tmp_path / "SGA.txt", COSTANZO_HEADER + costanzo_rows() + "YAL001C_x\tyal001c\tYAL001C_y\tx\tDMA30\t0.1\t"
          "0.2\t1\t1\t0.3\t0.1\n")  # a gene named twice: a warning
    graph = CellGraph.from_edges(GENES, [])
    table = {**COSTANZO, "conditions": ["Arraytype/Temp"], "aggregate": "mean"}
    with warnings.catch_warnings(record=True) as plain_warned:
        warnings.simplefilter("always")
        plain = table_source(tmp_path, table).load(graph)  # no read-ahead: the reference, and the entry
    for entry in (tmp_path / "cache").rglob("*.*"):
        entry.unlink()  # cold again: no entry, no remembered digest
    real, threads = strain_rows.read_rows, []
    monkeypatch.setattr(strain_rows, "read_rows",
                        lambda *a, **k: (threads.append(threading.current_thread().name), real(*a, **k))[1])
    source = table_source(tmp_path, table)
    source.read_ahead()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        ahead = source.load(graph)
    assert threads == ["cellreg-read-ahead"]  # parsed once, ahead
    assert table_arrays(ahead) == table_arrays(plain) and [str(w.message) for w in warned] == \
        [str(w.message) for w in plain_warned] and len(warned) == 1
    table_source(tmp_path, table).read_ahead()  # warm: the digest is remembered, nothing starts
    assert not strain_table._AHEAD
    with pytest.warns(UserWarning, match="a gene named twice"):
        assert table_arrays(table_source(tmp_path, table).load(graph)) == table_arrays(plain)

    for entry in (tmp_path / "cache").rglob("*.*"):
        entry.unlink()
    source = table_source(tmp_path, table)
    source.read_ahead()  # then the file changes before the load: the old rows are not taken
    changed = (tmp_path / "SGA.txt").read_text().replace("0.5", "0.7", 1)
    write(tmp_path / "SGA.txt", changed)
    threads.clear()
    with pytest.warns(UserWarning, match="a gene named twice"):  # read again, on this thread
        fresh = source.load(graph)
    assert threads[-1] == "MainThread" and not np.array_equal(fresh.labels, plain.labels, equal_nan=True)
    with pytest.warns(UserWarning, match="a gene named twice"):  # replayed from the entry of the new bytes
        assert table_arrays(fresh) == table_arrays(table_source(tmp_path, table).load(graph))

    bad = {**table, "labels": ["P-value"]}
    write(tmp_path / "SGA.txt", COSTANZO_HEADER + "YAL001C_a\ta\tYBR002W_b\tb\tDMA30\t0.1\tslow\t1\t1\t0.3\t0.1\n")
    source = table_source(tmp_path, bad)
    source.read_ahead()
    assert strain_table._AHEAD
    with pytest.raises(ValueError, match="line 2, column 'P-value': expected a number, got 'slow'"):
        source.load(graph)
    assert not strain_table._AHEAD


@pytest.mark.parametrize("hashed", [False, True])  # the scan beside the parse, and after it (a read-ahead)
def test_the_scans_verdicts_do_not_depend_on_when_it_asks(tmp_path, hashed):
    from cellreg.toolkit.columnar import ColumnFile, Fallback

    cases = {"genes,fit\nYAL001C,1\n# a note\nYBR002W,2\n": "comment lines",
             'genes,fit\n"YAL001C",1\nYBR002W,2\n': "quoted fields", "genes,fit\nYAL001C,1\nYBR002W,2\n": None}
    for text, reason in cases.items():
        write(tmp_path / "p.csv", text)
        file = ColumnFile(tmp_path / "p.csv", ",", "#")
        if reason is None:
            assert file.read(text=[0], numbers=[1], hashed_meanwhile=hashed).num_rows == 2
        else:
            with pytest.raises(Fallback, match=reason):
                file.read(text=[0], numbers=[1], hashed_meanwhile=hashed)
