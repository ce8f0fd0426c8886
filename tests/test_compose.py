"""Composed graphs: edge files and COBRApy's bundled E. coli model over one vocabulary, checked by
gene name against each source alone; clashes, unknown genes and nested config errors; and both a
metabolism-aware HeteroCell and the transformer training on the result."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

pytest.importorskip("cobra")

from cellreg.config import ConfigError  # noqa: E402
from cellreg.training.pipeline import Pipeline  # noqa: E402


@pytest.fixture(scope="module")
def textbook_genes():
    from cellreg_metabolism.reader import read_model

    from pathlib import Path

    model = read_model("textbook", Path("."))
    return [g.id for g in model.genes], {g.name: g.id for g in model.genes if g.name}


def write_config(tmp_path, graph: dict, **extra) -> object:
    raw = {"name": "composed", "seed": 0, "graph": graph,
           "phenotypes": {"name": "synthetic", "doubles": 600, "triples": 0},
           "model": {"encoder": {"name": "gene_embedding", "dim": 8}, "head": {"name": "sum_mlp", "hidden": 8}},
           "train": {"epochs": 1, "progress": False}, **extra}
    path = tmp_path / "c.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


@pytest.fixture
def files(tmp_path, textbook_genes):
    genes, by_symbol = textbook_genes
    extra = [f"B9{i:03d}" for i in range(20)]  # genes the metabolic model lacks
    (tmp_path / "genes.txt").write_text("\n".join(genes + extra) + "\n")
    symbols = sorted(by_symbol)[:6]
    lines = [f"{genes[i]}\t{genes[i + 1]}" for i in range(0, 40, 2)]
    lines += [f"{a.lower()}\t{b}" for a, b in zip(extra, extra[1:])]  # another case: still matched
    lines += [f"{s}\t{extra[0]}" for s in symbols]  # gene symbols: through the alias file
    (tmp_path / "physical.tsv").write_text("\n".join(lines) + "\n")
    (tmp_path / "aliases.tsv").write_text("".join(f"{s}\t{by_symbol[s]}\n" for s in symbols))
    return tmp_path, genes, extra, by_symbol, symbols


def sources(tmp_path):
    return {"name": "compose", "genes": "genes.txt", "sources": [
        {"name": "edge_list", "files": [{"path": "physical.tsv", "relation": "physical", "header": False}], "map_genes": "aliases.tsv"},
        {"name": "metabolism", "model": "textbook"}]}


def test_the_composed_graph_matches_each_source_by_gene_name(files):
    tmp_path, genes, extra, by_symbol, symbols = files
    graph = Pipeline.from_file(write_config(tmp_path, sources(tmp_path))).graph
    assert graph.genes == tuple(genes + extra)
    assert set(graph.relations) == {"physical", "shared_reaction"}
    names = graph.genes
    got = {tuple(sorted((names[a], names[b]))) for a, b in graph.relations["physical"].edge_index.t().tolist()}
    want = {tuple(sorted((genes[i], genes[i + 1]))) for i in range(0, 40, 2)}
    want |= {tuple(sorted(p)) for p in zip(extra, extra[1:])}
    want |= {tuple(sorted((by_symbol[s], extra[0]))) for s in symbols}
    assert got == want

    metabolism = Pipeline.from_file(write_config(tmp_path, {"name": "metabolism", "model": "textbook"})).graph
    for et in metabolism.extra.edge_types:  # gene ends re-indexed by name, the others untouched
        a, b = metabolism.extra[et].edge_index, graph.extra[et].edge_index
        if et[0] == "gene":
            assert [metabolism.genes[i] for i in a[0].tolist()] == [names[i] for i in b[0].tolist()]
            assert a[1].tolist() == b[1].tolist()
        else:
            assert a.tolist() == b.tolist()
    assert graph.extra["reaction"].names == metabolism.extra["reaction"].names
    np.testing.assert_array_equal(graph.extra[("metabolite", "stoich", "reaction")].coefficient.numpy(),
                                  metabolism.extra[("metabolite", "stoich", "reaction")].coefficient.numpy())


def test_the_vocabulary_defaults_to_the_union_in_order(files):
    tmp_path, genes, extra, by_symbol, _ = files
    graph_table = sources(tmp_path)
    del graph_table["genes"]
    graph = Pipeline.from_file(write_config(tmp_path, graph_table)).graph
    edge_genes = Pipeline.from_file(write_config(tmp_path, {
        "name": "edge_list", "files": [{"path": "physical.tsv", "relation": "physical", "header": False}]})).graph.genes
    aliased = [by_symbol.get(g, g) for g in edge_genes]
    first = list(dict.fromkeys(aliased))  # one source's names as it spells them: b9000 and B9000 are two
    folded = {g.casefold() for g in first}
    first += [g for g in genes if g not in first and g.casefold() not in folded]  # then the model's new genes
    assert graph.genes == tuple(first) and len(graph.genes) == len(genes) + 2 * len(extra) - 1  # b9000..b9018 too


def test_clashes_and_unknown_genes_name_their_sources(files):
    tmp_path, *_ = files
    twice = {"name": "compose", "sources": [
        {"name": "edge_list", "files": [{"path": "physical.tsv", "relation": "physical", "header": False}]},
        {"name": "edge_list", "files": [{"path": "physical.tsv", "relation": "physical", "header": False}]}]}
    with pytest.raises(ValueError, match=r"relation 'physical' comes from both graph.sources\[0\] \(edge_list\) "
                                         r"and graph.sources\[1\] \(edge_list\)"):
        Pipeline.from_file(write_config(tmp_path, twice)).graph
    (tmp_path / "short.txt").write_text("b0008\n")
    table = sources(tmp_path) | {"genes": "short.txt"}
    with pytest.raises(ValueError, match=r"graph.sources\[0\] \(edge_list\): \d+ of its \d+ genes are not in the "
                                         r"vocabulary .*short.txt, e.g. .*set unknown_genes = \"drop\""):
        Pipeline.from_file(write_config(tmp_path, table)).graph


def test_nested_tables_are_checked_before_anything_loads(files):
    tmp_path, *_ = files
    table = sources(tmp_path)
    table["sources"][1]["name"] = "metabolsim"
    with pytest.raises(ConfigError, match=r"graph.sources\[1\].name: .*metabolism"):
        Pipeline.from_file(write_config(tmp_path, table)).preflight()
    table = sources(tmp_path)
    table["sources"][0]["files"][0]["path"] = "nope.tsv"
    with pytest.raises(ConfigError, match=r"graph.sources\[0\].files\[0\].path: no such file: .*nope.tsv"):
        Pipeline.from_file(write_config(tmp_path, table)).preflight()


@pytest.mark.parametrize("model", [
    {"perturbation": {"name": "lazy_mask"},
     "model": {"encoder": {"name": "hetero_cell", "dim": 8, "layers": 1, "metabolism": True},
               "head": {"name": "difference", "hidden": 8}}},
    {"model": {"encoder": {"name": "transformer", "dim": 8, "layers": 1, "heads": 2, "rows": 16},
               "head": {"name": "cross_attention", "hidden": 8}}},
], ids=["hetero_cell_metabolism", "transformer"])
def test_models_train_on_the_composed_graph(files, model):
    import json

    from cellreg.training.trainer import run

    tmp_path, *_ = files
    path = write_config(tmp_path, sources(tmp_path), **model)
    run(path, tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert np.isfinite(metrics["test"]["fitness"]["mse"])


def test_spellings_and_aliases_of_one_gene_meet_in_one_node():
    """A union in which YAL001C and yal001c are one gene, and a name map that sends two names to
    one gene: no self-loop, no repeated edge, the largest weight kept."""
    import torch

    from cellreg.data.compose import Part, compose
    from cellreg.data.graph import CellGraph

    a = CellGraph.from_edges(["YAL001C", "YAL002W", "ADH1"], [("r", np.array([0, 0]), np.array([1, 2]),
                                                                 np.array([1.0, 3.0]), False)])
    b = CellGraph.from_edges(["yal001c", "yal003w"], [("s", np.array([0]), np.array([1]), None, True)])
    graph = compose([Part("a", a, {"adh1": "YAL002W"}), Part("b", b)])
    assert graph.genes == ("YAL001C", "YAL002W", "yal003w")
    assert graph.relations["r"].edge_index.tolist() == [[0], [1]]  # YAL001C-YAL002W and YAL001C-ADH1: one edge
    assert graph.relations["r"].weight.tolist() == [3.0]
    assert graph.relations["s"].edge_index.tolist() == [[0], [2]]
    assert graph.relations["s"].directed and isinstance(graph.relations["s"].edge_index, torch.Tensor)
