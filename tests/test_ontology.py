"""The ontology graph source: hierarchy layout, OBO / GAF / DCell-topology readers, propagation and filters."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from cellreg import Context
from cellreg.config import DataError
from cellreg.data.hierarchy import Hierarchy
from cellreg_dcell.configs import OntologyGraphConfig
from cellreg_dcell.graph import OntologyGraph
from cellreg_dcell.ontology import Filters, build
from cellreg_dcell.readers import read_gaf, read_obo, read_topology

DATA = Path(__file__).parent / "data" / "ontology"

# What tiny.obo + tiny.gaf give under GO:0000001 with DCell's filters, worked out by hand: process B
# (GO:0000003) has exactly process B one's genes (redundant: B one moves up to the root), the small
# process has 2 genes (dropped: its genes become the root's own), YA12's only annotation is IGI,
# YA13's is a NOT, YC3's term is not in the ontology.
EXPECTED_EDGES = {("GO:0000001", "GO:0000002"), ("GO:0000001", "GO:0000006"), ("GO:0000002", "GO:0000004"),
                  ("GO:0000002", "GO:0000005")}
EXPECTED_DIRECT = {"GO:0000001": {"YC1", "YC2"}, "GO:0000002": {"YA11"},
                   "GO:0000004": {f"YA{i}" for i in range(1, 7)}, "GO:0000005": {f"YA{i}" for i in range(5, 11)},
                   "GO:0000006": {f"YB{i}" for i in range(1, 7)}}


def named(graph):
    h = Hierarchy.from_extra(graph.extra, graph.num_genes)
    edges = {(h.terms[p], h.terms[c]) for p, c in h.parent_child.T}
    direct = {}
    for g, t in h.annotations.T:
        direct.setdefault(h.terms[t], set()).add(graph.genes[g])
    return h, edges, direct


def load(tmp=None, **options):
    return OntologyGraph(OntologyGraphConfig(**options), Context(base_dir=tmp or DATA)).load()


def test_hierarchy_levels_propagation_and_round_trip():
    # r -> a, b; a -> c; b -> c (a DAG); genes: c {0, 1}, a {2}, b {3}, r {4}; gene 5 has no term
    h = Hierarchy(("r", "a", "b", "c"), [[0, 0, 1, 2], [1, 2, 3, 3]], [[0, 1, 2, 3, 4], [3, 3, 1, 2, 0]], 6)
    assert h.levels.tolist() == [2, 1, 1, 0] and h.depth == 3 and h.roots.tolist() == [0]
    assert h.term_genes().toarray().tolist() == [[1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 0, 0],
                                                 [1, 1, 0, 0, 0, 0]]
    back = Hierarchy.from_extra(h.to_extra(), 6)
    assert back.terms == h.terms and np.array_equal(back.parent_child, h.parent_child)
    assert np.array_equal(back.annotations, h.annotations) and np.array_equal(back.levels, h.levels)
    assert "with no term: 1" in h.summary()
    with pytest.raises(ValueError, match="not acyclic: term a"):
        Hierarchy(("a", "b"), [[0, 1], [1, 0]], [], 1)


def test_obo_gaf_filters_match_hand_computed(caplog):
    source = OntologyGraph(OntologyGraphConfig(obo="tiny.obo", gaf="tiny.gaf", gene_column=11, root="GO:0000001"),
                           Context(base_dir=DATA))
    with caplog.at_level(logging.INFO, logger="cellreg"):
        graph = source.load()
    assert source.report()["genes with no term"] == "2" and source.report()["terms"] == "5"
    h, edges, direct = named(graph)
    assert edges == EXPECTED_EDGES and direct == EXPECTED_DIRECT
    assert graph.relations == {} and len(graph.genes) == 21  # every annotated gene: YA1-13 less YA13, YB1-6, YC1-3
    assert h.titles[h.terms.index("GO:0000002")] == "process A"
    assert "genes annotated: 19 of 21; with no term: 2" in caplog.text and "YA12, YC3" in caplog.text


def test_topology_file_gives_the_same_hierarchy():
    _, edges, direct = named(load(topology="tiny.topology"))
    assert edges == EXPECTED_EDGES and direct == EXPECTED_DIRECT


def test_each_filter_alone():
    ontology = read_obo(DATA / "tiny.obo", ["is_a", "part_of"])
    assert ("GO:0000005", "GO:0000003") not in ontology.edges  # 'regulates' does not nest terms
    assert "GO:0000009" not in ontology.terms  # obsolete
    rows = read_gaf(DATA / "tiny.gaf", 11)
    annotations = [(g, t, e) for g, t, e, _ in rows]
    genes = sorted({g for g, _, _ in annotations})

    def run(**kw):
        f = Filters(**{"root": None, "min_genes": 0, "drop_redundant": False, "exclude_evidence": (), **kw})
        h = build(ontology.terms, ontology.edges, annotations, genes, f).hierarchy
        return h, dict(zip(h.terms, np.asarray(h.term_genes().sum(1)).ravel().tolist()))

    h, size = run()  # no filter: 8 terms, annotations propagated (IGI kept: A one has YA12 too)
    assert len(h.terms) == 8 and size["GO:0000004"] == 7 and size["GO:0000002"] == 12 and size["GO:0000001"] == 20
    assert size["GO:0000008"] == 1
    _, size = run(exclude_evidence=("IGI",))
    assert size["GO:0000004"] == 6 and size["GO:0000001"] == 19
    h, _ = run(root="GO:0000001")
    assert "GO:0000008" not in h.terms and len(h.terms) == 7
    h, _ = run(min_genes=6)
    assert set(h.terms) == {"GO:0000001", "GO:0000002", "GO:0000003", "GO:0000004", "GO:0000005", "GO:0000006"}
    h, _ = run(drop_redundant=True)  # process B = process B one; the small process and the MF term stay
    assert "GO:0000003" not in h.terms and ("GO:0000007" in h.terms)
    assert (h.terms.index("GO:0000001"), h.terms.index("GO:0000006")) in set(map(tuple, h.parent_child.T.tolist()))
    with pytest.raises(ValueError, match="root 'GO:0000011' is not a term.*GO:0000001"):
        run(root="GO:0000011")


def test_gaf_gene_column():
    by_symbol = {g for g, *_ in read_gaf(DATA / "tiny.gaf", 3)}
    assert "geneA1" in by_symbol and "YA1" not in by_symbol
    assert {g for g, *_ in read_gaf(DATA / "tiny.gaf", 11, known={"geneA1"})} >= {"geneA1", "YA2"}


def _spoil(tmp_path: Path, name: str, line: int, text: str | None) -> Path:
    """A copy of a shipped file with 1-based ``line`` replaced (or removed when ``text`` is None)."""
    lines = (DATA / name).read_text().splitlines()
    lines[line - 1:line] = [] if text is None else [text]
    out = tmp_path / name
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize("line, text, message", [
    (14, "is_a GO:0000001", "line 14: expected 'tag: value'"),
    (26, "relationship: part_of", "line 26: expected 'relationship: <type> <term>'"),
    (9, "is_a: GO:0000077", "line 13: is_a GO:0000077 names a term the file does not define"),
    (6, None, "line 5: \\[Term\\] stanza without an 'id:' tag"),
])
def test_malformed_obo_names_file_and_line(tmp_path, line, text, message):
    if line == 9:  # an is_a to an undefined term, added to the stanza of GO:0000002
        lines = (DATA / "tiny.obo").read_text().splitlines()
        lines[12] = "is_a: GO:0000077 ! nowhere"
        path = tmp_path / "tiny.obo"
        path.write_text("\n".join(lines) + "\n")
    else:
        path = _spoil(tmp_path, "tiny.obo", line, text)
    with pytest.raises(DataError, match=message) as err:
        read_obo(path, ["is_a", "part_of"])
    assert str(path) in str(err.value)


@pytest.mark.parametrize("line, text, message", [
    (4, "SGD\tS1\tgeneA1\tinvolved_in\tGO:0000004", "line 4: expected 17 tab-separated columns \\(GAF 2.x\\), found 5"),
    (5, "SGD\tS1\tgeneA1\tinvolved_in\t0000004" + "\tx" * 12, "line 5: column 5 \\(GO ID\\)"),
    (6, "SGD\tS1\tgeneA1\tinvolved_in\tGO:0000004\tPMID:1\t" + "\tx" * 10, "line 6: column 7 \\(evidence code\\) is empty"),
])
def test_malformed_gaf_names_file_and_line(tmp_path, line, text, message):
    path = _spoil(tmp_path, "tiny.gaf", line, text)
    with pytest.raises(DataError, match=message) as err:
        read_gaf(path, 11)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("line, text, message", [
    (1, "ROOT: GO:0000001", "line 1: expected 'ROOT: <term> <number of genes>'"),
    (2, "TERMS: GO:0000002", "line 2: expected 'GENES:'"),
    (3, "TERMS: GO:0000002 GO:0000066", "line 3: TERMS of GO:0000001 names GO:0000066, which has no ROOT block"),
    (15, None, "line 14: the file ends inside the block of GO:0000006"),
    (7, "ROOT: GO:0000001 6", "line 7: term GO:0000001 has a block already \\(line 1\\)"),
])
def test_malformed_topology_names_file_and_line(tmp_path, line, text, message):
    path = _spoil(tmp_path, "tiny.topology", line, text)
    with pytest.raises(DataError, match=message) as err:
        read_topology(path)
    assert str(path) in str(err.value)


def test_vocabulary_file_and_check(tmp_path):
    shutil.copy(DATA / "tiny.topology", tmp_path / "t.topology")
    (tmp_path / "genes.txt").write_text("# vocabulary\nYA1\nYZ9\n")
    graph = load(tmp_path, topology="t.topology", genes="genes.txt", min_genes=1)
    assert graph.genes == ("YA1", "YZ9")
    h, _, direct = named(graph)
    assert direct == {"GO:0000004": {"YA1"}}  # a term is kept only with a gene of the vocabulary
    source = OntologyGraph(OntologyGraphConfig(obo="no.obo", gaf="tiny.gaf"), Context(base_dir=tmp_path))
    assert source.check() == [f"graph.obo: no such file: {tmp_path / 'no.obo'}",
                              f"graph.gaf: no such file: {tmp_path / 'tiny.gaf'}"]
    with pytest.raises(ValueError, match="either 'topology' or 'obo'"):
        OntologyGraphConfig(obo="a", gaf="b", topology="c")


def test_hierarchy_survives_composition():
    from cellreg.data.compose import Part, compose
    from cellreg.data.graph import CellGraph

    ontology = load(topology="tiny.topology")
    network = CellGraph.from_edges(("YZ1", "YB6", "YA1"), [("physical", np.array([0, 1]), np.array([1, 2]), None, False)])
    graph = compose([Part("network", network, {}), Part("ontology", ontology, {})], None, "error", "the union")
    h, edges, direct = named(graph)
    assert edges == EXPECTED_EDGES and direct == EXPECTED_DIRECT  # gene ends re-indexed onto the union
    assert "physical" in graph.relations and graph.num_genes == 20
