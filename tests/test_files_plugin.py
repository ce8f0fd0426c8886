"""The bundled file plugins: edge lists into a CellGraph, perturbation tables into a PhenotypeTable."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pytest

from cellreg import Context
from cellreg.config import ConfigError, structure
from cellreg.plugin_api.run_config import parse_config
from cellreg.data.graph import CellGraph
from cellreg.data.phenotypes import Perturbation
from cellreg.plugin_api.registry import load_registry
from cellreg_files.configs import EdgeListConfig, TableConfig


def write(path, text: str):
    path.write_text(text)
    return path


def make(cls, table: dict):
    errors: list[str] = []
    config = structure(table, cls, "graph" if cls is EdgeListConfig else "phenotypes", errors)
    assert not errors, errors
    return config


def load_graph(tmp_path, table: dict) -> CellGraph:
    plugin = load_registry().get("graph", "edge_list")
    return plugin.load_factory()(make(EdgeListConfig, table), Context(base_dir=tmp_path)).load()


def load_table(tmp_path, graph: CellGraph, table: dict):
    plugin = load_registry().get("phenotypes", "table")
    return plugin.load_factory()(make(TableConfig, table), Context(base_dir=tmp_path)).load(graph)


def edges(graph: CellGraph, relation: str) -> set[tuple[str, str]]:
    ei = graph.relations[relation].edge_index.numpy()
    return {(graph.genes[a], graph.genes[b]) for a, b in ei.T}


def weights(graph: CellGraph, relation: str) -> dict[tuple[str, str], float]:
    rel = graph.relations[relation]
    return {(graph.genes[a], graph.genes[b]): float(w) for (a, b), w in zip(rel.edge_index.numpy().T, rel.weight)}


# ---------------------------------------------------------------- edge lists


@pytest.mark.parametrize("sep", ["\t", ",", " ", "   "])
@pytest.mark.parametrize("delimiter", ["auto", "explicit"])
def test_edge_list_delimiters(tmp_path, sep, delimiter):
    write(tmp_path / "e.txt", f"# a comment\nA{sep}B\n\nB{sep}C\nC{sep}A\n")
    if delimiter == "explicit":
        delimiter = sep if sep.strip() or len(sep) == 1 else " "
    g = load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "phys", "delimiter": delimiter}]})
    assert g.genes == ("A", "B", "C")
    assert edges(g, "phys") == {("A", "B"), ("B", "C"), ("A", "C")}
    assert not g.relations["phys"].directed and g.relations["phys"].weight is None


def test_columns_by_header_name(tmp_path):
    write(tmp_path / "e.tsv", "score\tto\tfrom\n0.5\tB\tA\n0.25\tC\tB\n")
    g = load_graph(tmp_path, {"files": [
        {"path": "e.tsv", "relation": "r", "source": "from", "target": "to", "weight": "score"}]})
    assert weights(g, "r") == {("A", "B"): 0.5, ("B", "C"): 0.25}


def test_columns_by_index_with_and_without_header(tmp_path):
    write(tmp_path / "h.tsv", "x\tsrc\tdst\n1\tA\tB\n2\tB\tC\n")
    g = load_graph(tmp_path, {"files": [{"path": "h.tsv", "relation": "r", "source": 1, "target": 2,
                                         "header": True}]})
    assert edges(g, "r") == {("A", "B"), ("B", "C")}
    # header = false: the first line is data
    write(tmp_path / "n.tsv", "A\tB\nB\tC\n")
    g = load_graph(tmp_path, {"files": [{"path": "n.tsv", "relation": "r", "header": False}]})
    assert edges(g, "r") == {("A", "B"), ("B", "C")}


def test_auto_header_detection(tmp_path):
    # genes never seen again: a header; a single-row file is data; a gene seen elsewhere: data
    write(tmp_path / "h.txt", "gene1 gene2\nA B\nB C\n")
    write(tmp_path / "one.txt", "D E\n")
    write(tmp_path / "d.txt", "A C\nC B\n")
    with pytest.warns(UserWarning, match=r"h.txt: line 1 \('gene1 gene2'\) was taken for a header and skipped"):
        g = load_graph(tmp_path, {"files": [{"path": "h.txt", "relation": "h"}, {"path": "one.txt", "relation": "o"},
                                            {"path": "d.txt", "relation": "d"}]})
    assert "gene1" not in g.genes
    assert edges(g, "h") == {("A", "B"), ("B", "C")}
    assert edges(g, "o") == {("D", "E")}
    assert edges(g, "d") == {("A", "C"), ("B", "C")}
    # a non-numeric weight cell on line 1 marks a header even when its "genes" occur elsewhere
    write(tmp_path / "w.txt", "A B weight\nA B 2\n")
    g = load_graph(tmp_path, {"files": [{"path": "w.txt", "relation": "w", "weight": 2}]})
    assert weights(g, "w") == {("A", "B"): 2.0}


def test_relation_column_splits_one_file(tmp_path):
    write(tmp_path / "multi.csv", "a,b,kind\nA,B,physical\nB,C,genetic\nC,D,physical\n")
    g = load_graph(tmp_path, {"files": [{"path": "multi.csv", "relation_column": "kind", "source": "a",
                                         "target": "b"}]})
    assert set(g.relations) == {"physical", "genetic"}
    assert edges(g, "physical") == {("A", "B"), ("C", "D")}
    assert edges(g, "genetic") == {("B", "C")}


def test_directed_vs_undirected_duplicates(tmp_path):
    write(tmp_path / "e.txt", "A B 1\nB A 3\nA B 2\nA A 5\n")
    und = load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "r", "weight": 2}]})
    assert weights(und, "r") == {("A", "B"): 3.0}  # one edge, the largest weight, no self-loop
    dirs = load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "r", "weight": 2, "directed": True}]})
    assert dirs.relations["r"].directed
    assert weights(dirs, "r") == {("A", "B"): 2.0, ("B", "A"): 3.0}


def test_non_numeric_weight_names_file_line_column(tmp_path):
    path = write(tmp_path / "e.tsv", "a\tb\tw\nA\tB\t1\nB\tC\thigh\n")
    with pytest.raises(ValueError) as err:
        load_graph(tmp_path, {"files": [{"path": "e.tsv", "relation": "r", "weight": "w"}]})
    msg = str(err.value)
    assert msg.startswith(str(path)) and "line 3" in msg and "'w'" in msg and "'high'" in msg


def test_string_detailed_per_channel(tmp_path):
    header = "protein1 protein2 neighborhood fusion cooccurence coexpression experimental database " \
             "textmining combined_score\n"
    rows = ["4932.YAL001C 4932.YBR002W 0 0 0 300 0 0 120 350",
            "4932.YBR002W 4932.YAL001C 0 0 0 300 0 0 120 350",
            "4932.YAL001C 4932.YCR003C 0 0 0 0 800 0 0 810",
            "4932.YCR003C 4932.YDR004W 0 0 0 90 400 0 0 450"]
    write(tmp_path / "4932.protein.links.detailed.v12.0.txt", header + "\n".join(rows) + "\n")
    channel = {"path": "4932.protein.links.detailed.v12.0.txt", "strip_prefix": "4932.", "min_score": 1}
    g = load_graph(tmp_path, {"files": [
        {**channel, "relation": "coexpression", "weight": "coexpression"},
        {**channel, "relation": "experimental", "weight": "experimental"},
        {**channel, "relation": "combined", "weight": "combined_score", "min_score": 400}]})
    assert g.genes == ("YAL001C", "YBR002W", "YCR003C", "YDR004W")
    assert weights(g, "coexpression") == {("YAL001C", "YBR002W"): 300.0, ("YCR003C", "YDR004W"): 90.0}
    assert weights(g, "experimental") == {("YAL001C", "YCR003C"): 800.0, ("YCR003C", "YDR004W"): 400.0}
    assert set(weights(g, "combined")) == {("YAL001C", "YCR003C"), ("YCR003C", "YDR004W")}


def test_biogrid_tab3_filter_and_hash_header(tmp_path):
    cols = ["#BioGRID Interaction ID", "Systematic Name Interactor A", "Systematic Name Interactor B",
            "Experimental System Type", "Organism ID Interactor A"]
    rows = [["1", "YAL001C", "YBR002W", "physical", "559292"],
            ["2", "YAL001C", "YCR003C", "genetic", "559292"],
            ["3", "YCR003C", "YBR002W", "physical", "559292"]]
    path = write(tmp_path / "BIOGRID.tab3.txt", "\n".join("\t".join(r) for r in [cols] + rows) + "\n")
    spec = {"path": "BIOGRID.tab3.txt", "relation": "physical", "source": "Systematic Name Interactor A",
            "target": "Systematic Name Interactor B",
            "filter": {"column": "Experimental System Type", "equals": "physical"}}
    with pytest.raises(ValueError) as err:  # the header starts with '#', the default comment marker
        load_graph(tmp_path, {"files": [spec]})
    assert str(err.value).startswith(str(path)) and 'comment = ""' in str(err.value)
    g = load_graph(tmp_path, {"files": [{**spec, "comment": ""}]})
    assert edges(g, "physical") == {("YAL001C", "YBR002W"), ("YBR002W", "YCR003C")}


def test_vocabulary_file_and_unknown_genes(tmp_path):
    vocab = write(tmp_path / "genes.txt", "# yeast\nA\n\nB\nC\nD\n")
    path = write(tmp_path / "e.txt", "A B\nB X\nX Y\nC D\nZ A\n")
    spec = {"genes": "genes.txt", "files": [{"path": "e.txt", "relation": "r"}]}
    with pytest.raises(ValueError) as err:
        load_graph(tmp_path, spec)
    msg = str(err.value)
    assert msg.startswith(str(path))
    assert "3 unknown gene names on 3 lines" in msg and str(vocab) in msg
    assert "'X' (line 2)" in msg and "'Y' (line 3)" in msg and "'Z' (line 5)" in msg
    with pytest.warns(UserWarning, match="3 unknown gene names on 3 lines"):
        g = load_graph(tmp_path, {**spec, "unknown_genes": "drop"})
    assert g.genes == ("A", "B", "C", "D")  # the vocabulary file's order, genes without edges kept
    assert edges(g, "r") == {("A", "B"), ("C", "D")}


def test_vocabulary_duplicate_is_an_error(tmp_path):
    vocab = write(tmp_path / "genes.txt", "A\nB\nA\n")
    write(tmp_path / "e.txt", "A B\n")
    with pytest.raises(ValueError, match="line 3.*already listed on line 1") as err:
        load_graph(tmp_path, {"genes": "genes.txt", "files": [{"path": "e.txt", "relation": "r"}]})
    assert str(err.value).startswith(str(vocab))


def test_relation_merged_across_files_and_gzip(tmp_path):
    write(tmp_path / "a.txt", "A B\n")
    with gzip.open(tmp_path / "b.txt.gz", "wt") as f:
        f.write("B C\nC D\n")
    g = load_graph(tmp_path, {"files": [{"path": "a.txt", "relation": "r"}, {"path": "b.txt.gz", "relation": "r"}]})
    assert edges(g, "r") == {("A", "B"), ("B", "C"), ("C", "D")}
    with pytest.raises(ValueError, match="different directed or weight"):
        load_graph(tmp_path, {"files": [{"path": "a.txt", "relation": "r"},
                                        {"path": "b.txt.gz", "relation": "r", "directed": True}]})


def test_edge_column_not_found_lists_columns(tmp_path):
    path = write(tmp_path / "e.tsv", "gene_a\tgene_b\n A\tB\n")
    with pytest.raises(ValueError) as err:
        load_graph(tmp_path, {"files": [{"path": "e.tsv", "relation": "r", "source": "geneA", "target": "gene_b"}]})
    msg = str(err.value)
    assert msg.startswith(str(path)) and "'geneA'" in msg and "columns are: 'gene_a', 'gene_b'" in msg


def test_short_row_names_line(tmp_path):
    path = write(tmp_path / "e.txt", "A B\nC\n")
    with pytest.raises(ValueError, match=r"line 2 has 1 field") as err:
        load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "r"}]})
    assert str(err.value).startswith(str(path))


# ---------------------------------------------------------------- perturbation tables


@pytest.fixture
def graph() -> CellGraph:
    genes = ["YAL001C", "YBR002W", "YCR003C", "YDL227C", "YDR004W"]
    return CellGraph.from_edges(genes, [])


def strains(table) -> list[list[str]]:
    return [[table.gene_names[g] for g in table.strain(s)[0]] for s in range(table.num_strains)]


def test_table_joined_genes_and_missing_labels(tmp_path, graph):
    write(tmp_path / "p.tsv", "genes\tfitness\tepsilon\n"
                             "YAL001C+YBR002W\t0.8\tNA\n"
                             "YCR003C\t0.5\t\n"
                             "YAL001C+YCR003C+YDR004W\tnan\t-0.1\n"
                             "YBR002W\tnull\tNaN\n")
    t = load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes"})
    assert t.label_names == ("fitness", "epsilon") and t.gene_names == graph.genes
    assert strains(t) == [["YAL001C", "YBR002W"], ["YCR003C"], ["YAL001C", "YCR003C", "YDR004W"], ["YBR002W"]]
    assert (t.kinds == Perturbation.DELETION).all()
    expected = np.array([[0.8, np.nan], [0.5, np.nan], [np.nan, -0.1], [np.nan, np.nan]], dtype=np.float32)
    np.testing.assert_array_equal(t.labels, expected)


def test_table_gene_columns_with_empty_cells(tmp_path, graph):
    write(tmp_path / "p.csv", "gene1,gene2,gene3,score\nYAL001C,YBR002W,,1.5\nYCR003C,,,2\n,YDR004W,YAL001C,3\n")
    t = load_table(tmp_path, graph, {"path": "p.csv", "gene_columns": ["gene1", "gene2", "gene3"],
                                     "labels": ["score"]})
    assert strains(t) == [["YAL001C", "YBR002W"], ["YCR003C"], ["YDR004W", "YAL001C"]]
    np.testing.assert_array_equal(t.labels[:, 0], [1.5, 2, 3])


def test_table_kinds_column(tmp_path, graph):
    write(tmp_path / "p.tsv", "genes\tkinds\ty\n"
                             "YAL001C+YBR002W\tdeletion+overexpression\t1\n"
                             "YCR003C+YDR004W\tknockdown\t2\n"
                             "YCR003C\t\t3\n")
    t = load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes", "kinds": "kinds",
                                     "default_kind": "addition"})
    assert t.label_names == ("y",)
    assert t.kinds.tolist() == [Perturbation.DELETION, Perturbation.OVEREXPRESSION, Perturbation.KNOCKDOWN,
                                Perturbation.KNOCKDOWN, Perturbation.ADDITION]
    write(tmp_path / "bad.tsv", "genes\tkinds\ty\nYAL001C+YBR002W\tdeletion+knockdown+addition\t1\n")
    with pytest.raises(ValueError, match="line 2, column 'kinds': 3 kinds for 2 genes"):
        load_table(tmp_path, graph, {"path": "bad.tsv", "genes": "genes", "kinds": "kinds"})


def test_table_unknown_genes_error_and_drop(tmp_path, graph):
    path = write(tmp_path / "p.tsv", "q\ta\ty\nYAL001C\tFOO1\t1\nYBR002W\tYCR003C\t2\nBAR2\tFOO1\t3\n")
    spec = {"path": "p.tsv", "gene_columns": ["q", "a"]}
    with pytest.raises(ValueError) as err:
        load_table(tmp_path, graph, spec)
    msg = str(err.value)
    assert msg.startswith(str(path)) and "2 unknown gene names on 2 lines" in msg
    assert "'FOO1' (line 2, column 'a')" in msg and "'BAR2' (line 4, column 'q')" in msg
    with pytest.warns(UserWarning, match="2 unknown gene names on 2 lines.*dropped 2 of 3 strains"):
        t = load_table(tmp_path, graph, {**spec, "unknown_genes": "drop"})
    assert strains(t) == [["YBR002W", "YCR003C"]]
    np.testing.assert_array_equal(t.labels, [[2.0]])


def test_table_column_not_found_lists_columns(tmp_path, graph):
    path = write(tmp_path / "p.tsv", "genes\tfitness\nYAL001C\t1\n")
    with pytest.raises(ValueError) as err:
        load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes", "labels": ["fitnes"]})
    msg = str(err.value)
    assert msg.startswith(str(path)) and "'fitnes'" in msg and "columns are: 'genes', 'fitness'" in msg


def test_table_non_numeric_label_names_line(tmp_path, graph):
    path = write(tmp_path / "p.tsv", "genes\tfitness\nYAL001C\t1\nYBR002W\t0.3\nYCR003C\tslow\n")
    with pytest.raises(ValueError) as err:
        load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes"})
    msg = str(err.value)
    assert msg.startswith(str(path)) and "line 4" in msg and "'fitness'" in msg and "'slow'" in msg


def test_table_infinite_label_is_an_error(tmp_path, graph):
    write(tmp_path / "p.tsv", "genes\tfitness\nYAL001C\tinf\n")
    with pytest.raises(ValueError, match="line 2, column 'fitness': expected a finite number"):
        load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes"})


def test_costanzo_style_strain_ids(tmp_path, graph):
    header = "Query Strain ID\tQuery allele name\tArray Strain ID\tArray allele name\tArraytype/Temp\t" \
             "Genetic interaction score (ε)\tP-value\n"
    rows = "YAL001C_tsq508\ttfc3-g349e\tYBR002W_dma1\trer2\tDMA30\t-0.0348\t0.005\n" \
           "YCR003C_dma2\tmrpl32\tYDR004W_damp3\trad57\tTSA30\t0.0821\t0.3\n"
    write(tmp_path / "SGA_ExE.txt", header + rows)
    t = load_table(tmp_path, graph, {
        "path": "SGA_ExE.txt", "gene_columns": ["Query Strain ID", "Array Strain ID"], "strip_suffix": "_",
        "labels": ["Genetic interaction score (ε)", "P-value"]})
    assert strains(t) == [["YAL001C", "YBR002W"], ["YCR003C", "YDR004W"]]
    np.testing.assert_allclose(t.labels, [[-0.0348, 0.005], [0.0821, 0.3]], rtol=1e-6)
    # without labels = [...], the text columns are labels too: the error says how to fix it
    with pytest.raises(ValueError, match=r"line 2, column 'Query allele name'.*labels = \["):
        load_table(tmp_path, graph, {"path": "SGA_ExE.txt", "gene_columns": ["Query Strain ID", "Array Strain ID"],
                                     "strip_suffix": "_"})


def test_kuzmin_style_marker_dropped(tmp_path, graph):
    write(tmp_path / "kuzmin.tsv",
          "Query strain ID\tArray strain ID\tCombined mutant type\tAdjusted genetic interaction score (epsilon or tau)\n"
          "YAL001C_tm1+YDL227C_y13\tYBR002W_dma1\tdigenic\t-0.1\n"
          "YAL001C_tm1+YCR003C_tm2\tYBR002W_dma1\ttrigenic\t0.2\n")
    t = load_table(tmp_path, graph, {
        "path": "kuzmin.tsv", "gene_columns": ["Query strain ID", "Array strain ID"], "strip_suffix": "_",
        "drop_genes": ["YDL227C"], "labels": ["Adjusted genetic interaction score (epsilon or tau)"]})
    assert strains(t) == [["YAL001C", "YBR002W"], ["YAL001C", "YCR003C", "YBR002W"]]
    assert t.set_sizes.tolist() == [2, 3]


def test_table_default_labels_skip_gene_columns(tmp_path, graph):
    write(tmp_path / "p.txt", "g1 g2 a b\nYAL001C YBR002W 1 2\n")
    t = load_table(tmp_path, graph, {"path": "p.txt", "gene_columns": ["g1", "g2"]})
    assert t.label_names == ("a", "b")
    assert not math.isnan(t.labels[0, 1])


# ---------------------------------------------------------------- configs and the registry


def test_registry_finds_plugins_by_forgiving_name():
    registry = load_registry()
    assert registry.get("graph", "Edge-List").config is EdgeListConfig
    assert registry.get("phenotypes", "table").config is TableConfig


def test_config_is_strict():
    errors: list[str] = []
    assert structure({"files": [{"path": "e", "relation": "r", "source": 3.7}]}, EdgeListConfig, "graph",
                     errors) is None
    assert structure({"files": [{"path": "e", "relation": "r", "weight": True}]}, EdgeListConfig, "graph",
                     errors) is None
    assert structure({"files": [{"path": "e", "relation": "r", "header": "yes"}]}, EdgeListConfig, "graph",
                     errors) is None
    assert structure({"files": [{"path": "e"}]}, EdgeListConfig, "graph", errors) is None
    assert structure({"path": "p"}, TableConfig, "phenotypes", errors) is None
    assert structure({"path": "p", "genes": "g", "gene_columns": ["g"]}, TableConfig, "phenotypes", errors) is None
    assert errors[0] == "graph.files[0].source: expected int or str, got float 3.7"
    assert errors[1].startswith("graph.files[0].weight:")
    assert errors[2].startswith("graph.files[0].header:")
    assert errors[3].startswith("graph.files[0]:") and "exactly one of relation" in errors[3]
    assert all("exactly one of genes" in e for e in errors[4:6])
    ok = make(EdgeListConfig, {"files": [{"path": "e", "relation_column": 2, "header": True, "source": "a"}]})
    assert ok.files[0].relation_column == 2 and ok.files[0].source == "a"


def _run_config(tmp_path, graph_files: list[dict]) -> dict:
    return {
        "graph": {"name": "edge-list", "files": graph_files},
        "phenotypes": {"name": "Table", "path": "p.tsv", "genes": "genes"},
        "model": {"encoder": {"name": "none"}, "head": {"name": "mean"}},
    }


def test_parse_config_through_registry(tmp_path):
    registry = load_registry()
    write(tmp_path / "e.tsv", "a\tb\nA\tB\n")
    write(tmp_path / "p.tsv", "genes\ty\nA\t1\n")
    raw = _run_config(tmp_path, [{"path": "e.tsv", "relation": "r", "source": "a", "target": "b"}])
    try:
        config = parse_config(raw, registry=registry)
    except ConfigError as exc:  # other kinds' plugins may not be installed: ours must still be clean
        assert not [e for e in exc.errors if e.startswith(("graph", "phenotypes"))], exc.errors
        graph_config = structure({k: v for k, v in raw["graph"].items() if k != "name"}, EdgeListConfig, "graph", [])
    else:
        assert config.graph.name == "edge_list" and config.phenotypes.name == "table"
        graph_config = config.graph.config
    assert isinstance(graph_config, EdgeListConfig) and graph_config.files[0].source == "a"
    g = registry.get("graph", "edge_list").load_factory()(graph_config, Context(base_dir=tmp_path)).load()
    assert edges(g, "r") == {("A", "B")}


def test_parse_config_typo_names_the_path(tmp_path):
    raw = _run_config(tmp_path, [{"path": "e.tsv", "relation": "r"}, {"pathh": "e.tsv", "relation": "r"}])
    with pytest.raises(ConfigError) as err:
        parse_config(raw, registry=load_registry())
    assert any(e.startswith("graph.files[1]: unknown key 'pathh' (did you mean 'path'?)") for e in err.value.errors)
    assert any(e.startswith("graph.files[1].path: required key missing") for e in err.value.errors)


def test_auto_header_guess_that_drops_line_1_warns(tmp_path):
    # X-Y is an edge between genes seen nowhere else: "auto" takes it for a header, and says so
    path = write(tmp_path / "e.txt", "X Y\nA B\nB C\n")
    with pytest.warns(UserWarning) as caught:
        g = load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "r"}]})
    assert [str(w.message) for w in caught] == [
        f"{path}: line 1 ('X Y') was taken for a header and skipped, as neither of its genes is on any other line "
        '(header = "auto"); set header = false if it is an edge, header = true to say it is a header']
    assert "X" not in g.genes
    g = load_graph(tmp_path, {"files": [{"path": "e.txt", "relation": "r", "header": False}]})
    assert edges(g, "r") == {("X", "Y"), ("A", "B"), ("B", "C")}


def test_table_list_options_refuse_a_string(tmp_path):
    errors: list[str] = []
    assert structure({"path": "p", "gene_columns": "q", "labels": "fitness", "drop_genes": "YDL227C"}, TableConfig,
                     "phenotypes", errors) is None
    assert errors == ["phenotypes.gene_columns: expected a list of str, got str 'q'",
                      "phenotypes.labels: expected a list of str, got str 'fitness'",
                      "phenotypes.drop_genes: expected a list of str, got str 'YDL227C'"]


def test_graph_files_as_a_table_not_an_array_of_tables(tmp_path):
    raw = _run_config(tmp_path, {"path": "e.tsv", "relation": "r"})  # [graph.files] instead of [[graph.files]]
    raw["graph"]["files"] = {"path": "e.tsv", "relation": "r"}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, registry=load_registry())
    assert "graph.files: expected an array of tables ([[graph.files]] for each entry), got a table" in err.value.errors
    errors: list[str] = []
    structure({"files": [{"path": "e", "relation": "r", "filter": "physical"}]}, EdgeListConfig, "graph", errors)
    assert errors == ["graph.files[0].filter: expected a table, got str 'physical'"]


@pytest.mark.parametrize("header, message", [
    ("genes\tfit\tfit", "line 1: column name 'fit' is repeated (columns 1 and 2, counted from 0); column names "
                        "must be unique"),
    ("genes\tfit\t", "line 1: column 2 (counted from 0) of the header has no name (a delimiter at the end of the "
                     "line?); every column needs a name (delimiter '\\t')"),
    ("genes\t\tfit", "line 1: column 1 (counted from 0) of the header has no name; every column needs a name"),
])
def test_table_header_names_must_be_unique_and_non_empty(tmp_path, graph, header, message):
    path = write(tmp_path / "p.tsv", f"{header}\nYAL001C\t1\t2\n")
    with pytest.raises(ValueError) as err:
        load_table(tmp_path, graph, {"path": "p.tsv", "genes": "genes"})
    assert str(err.value).startswith(f"{path}: {message}")


def test_edge_column_named_twice_in_the_header_is_ambiguous(tmp_path):
    path = write(tmp_path / "e.tsv", "gene\tgene\nA\tB\n")
    with pytest.raises(ValueError) as err:
        load_graph(tmp_path, {"files": [{"path": "e.tsv", "relation": "r", "source": "gene", "target": 1}]})
    assert str(err.value) == (f"{path}: line 1: source = 'gene' is ambiguous: columns 0, 1 (counted from 0) of the "
                              "header are all named 'gene'; rename them, or give the column by index")


def _table_run(tmp_path, table_text: str, **phenotypes) -> dict:
    write(tmp_path / "e.tsv", "YAL001C\tYBR002W\nYBR002W\tYCR003C\nYCR003C\tYDL227C\nYDL227C\tYDR004W\n")
    write(tmp_path / "p.tsv", table_text)
    raw = _run_config(tmp_path, [{"path": "e.tsv", "relation": "r"}])
    raw["phenotypes"].update(phenotypes)
    return raw


def _load_data(tmp_path, raw):
    from cellreg.training.pipeline import Pipeline

    registry = load_registry()
    try:
        config = parse_config(raw, registry=registry)
    except ConfigError as exc:  # other kinds' plugins may not be installed
        pytest.skip(f"model plugins missing: {exc.errors}")
    return Pipeline(config, registry, tmp_path, source="run.toml").data


def test_training_on_a_table_without_strains_or_labels_is_refused(tmp_path):
    with pytest.raises(ConfigError) as err:
        _load_data(tmp_path, _table_run(tmp_path, "genes\tfitness\n"))
    assert err.value.source == "run.toml"
    assert err.value.errors == ["phenotypes (table, p.tsv): no strains to train on (a table with only its header "
                                "line, or every strain dropped?)"]
    rows = "genes\tfitness\n" + "".join(f"{g}\t{i}\n" for i, g in enumerate(["YAL001C", "YBR002W", "YCR003C"] * 5))
    with pytest.raises(ConfigError) as err:
        _load_data(tmp_path, _table_run(tmp_path, rows, labels=[]))
    assert err.value.errors == ["phenotypes (table, p.tsv): no labels to train on; phenotypes.labels = [] is for "
                                "tables scored with `cellreg predict`"]


def test_cli_prints_data_errors_without_a_traceback(tmp_path, capsys, monkeypatch):
    import tomli_w

    from cellreg.commands.cli import main

    raw = _table_run(tmp_path, "genes\tfitness\nYAL001C\t1\nYBR002W\tslow\n")
    config = tmp_path / "run.toml"
    config.write_text(tomli_w.dumps(raw))
    monkeypatch.delenv("CELLREG_DEBUG", raising=False)
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {tmp_path / 'p.tsv'}: line 3, column 'fitness': expected a number, got 'slow' (missing "
                   "values may be written as n/a, na, nan, null or left empty) (labels default to every column not "
                   "holding genes or kinds; list them with labels = [...])\n")
    with pytest.raises(ValueError, match="got 'slow'"):
        main(["--debug", "run", str(config), "--out", str(tmp_path / "out")])
    (tmp_path / "p.tsv").unlink()
    assert main(["run", str(config), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"error: {config}: invalid config:\n"  # found before any data loads
                                       f"  - phenotypes.path: no such file: {tmp_path / 'p.tsv'}\n")
    genes = ["YAL001C", "YBR002W", "YCR003C", "YDL227C", "YDR004W"]
    sets = genes + [f"{a}+{b}" for i, a in enumerate(genes) for b in genes[i + 1:]]  # 15 distinct sets
    write(tmp_path / "p.tsv", "genes\tfitness\n" + "".join(f"{s}\t1\n" for s in sets) * 4)
    out = write(tmp_path / "a_file", "") / "out"  # an OSError: the run directory cannot be made
    assert main(["run", str(config), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: [Errno 20] Not a directory: '{out}'\n"


def test_a_gene_named_twice_in_a_strain_is_one_perturbation_or_an_error(tmp_path, graph):
    write(tmp_path / "p.tsv", "q\ta\ty\nYAL001C\tYBR002W\t1\nYCR003C_tsq1\tYCR003C_dma2\t2\nFOO1\tBAR2\t3\n")
    with pytest.warns(UserWarning) as caught:
        t = load_table(tmp_path, graph, {"path": "p.tsv", "gene_columns": ["q", "a"], "strip_suffix": "_",
                                         "unknown_genes": "drop"})
    assert any("a gene named twice in one strain, in 1 strain(s) (first: line 3, 'YCR003C')" in str(w.message)
               for w in caught)
    assert strains(t) == [["YAL001C", "YBR002W"], ["YCR003C"]]
    np.testing.assert_array_equal(t.labels, [[1.0], [2.0]])
    write(tmp_path / "k.tsv", "genes\tkinds\ty\nYAL001C+YAL001C\tdeletion+overexpression\t1\n")
    with pytest.raises(ValueError, match="line 2: gene 'YAL001C' appears twice in one strain with different "
                                         r"kinds \(deletion and overexpression\)"):
        load_table(tmp_path, graph, {"path": "k.tsv", "genes": "genes", "kinds": "kinds"})
