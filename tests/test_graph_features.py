"""graph_profile features (plugins/cellreg_graph_features): each gene's edge weights to anchor genes,
against a dense adjacency built by hand; the errors that name a bad anchor or relation; and a run
whose config uses them."""

from __future__ import annotations

import numpy as np
import pytest
import tomli_w

from cellreg.plugin_api.registry import default_registry
from cellreg.plugin_api.sources import Context
from cellreg_graph_features.configs import GraphProfileConfig

GENES = [f"G{i}" for i in range(7)]
PHYSICAL = [("G0", "G1", 2.0), ("G1", "G2", 4.0), ("G3", "G5", 1.0), ("G6", "G2", 3.0)]
REGULATORY = [("G4", "G1"), ("G2", "G0")]  # directed, unweighted
ANCHORS = ["G2", "G1"]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "genes.txt").write_text("\n".join(GENES) + "\n")
    (tmp_path / "physical.tsv").write_text("a\tb\tw\n" + "".join(f"{a}\t{b}\t{w}\n" for a, b, w in PHYSICAL))
    (tmp_path / "regulatory.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in REGULATORY))
    (tmp_path / "anchors.txt").write_text("\n".join(ANCHORS) + "\n")
    return tmp_path


def graph_table():
    return {"name": "edge_list", "genes": "genes.txt", "files": [
        {"path": "physical.tsv", "relation": "physical", "weight": "w"},
        {"path": "regulatory.tsv", "relation": "regulatory", "directed": True}]}


def build(tmp_path, **options):
    registry = default_registry()
    config = GraphProfileConfig(graph=graph_table(), anchors="anchors.txt", **options)
    return registry.build("features", "graph_profile", config, Context(base_dir=tmp_path, registry=registry))


def reference(scale: bool, binary: bool) -> np.ndarray:
    """Dense adjacency per relation (physical symmetric, regulatory source -> target), anchor columns."""
    index = {g: i for i, g in enumerate(GENES)}
    physical = np.zeros((7, 7), np.float32)
    for a, b, w in PHYSICAL:
        physical[index[a], index[b]] = physical[index[b], index[a]] = 1.0 if binary else w
    if scale:
        physical /= physical.max()
    regulatory = np.zeros((7, 7), np.float32)
    for a, b in REGULATORY:
        regulatory[index[a], index[b]] = 1.0
    cols = [index[a] for a in ANCHORS]
    return np.hstack([physical[:, cols], regulatory[:, cols]])


@pytest.mark.parametrize("scale,binary", [(True, False), (False, False), (False, True)])
def test_profile_rows_are_the_adjacency_rows_at_the_anchors(files, scale, binary):
    features = build(files, scale=scale, binary=binary).load(GENES)
    assert features.genes == tuple(GENES)
    assert features.columns == ("physical:G2", "physical:G1", "regulatory:G2", "regulatory:G1")
    np.testing.assert_allclose(features.values, reference(scale, binary))


def test_relations_pick_and_order_the_blocks(files):
    features = build(files, relations=["regulatory"]).load(GENES)
    np.testing.assert_allclose(features.values, reference(True, False)[:, 2:])


def test_bad_anchor_and_relation_are_named(files):
    (files / "anchors.txt").write_text("G2\nG9\n")
    with pytest.raises(ValueError, match=r"anchors.txt: 1 anchor genes are not in the features' graph, e.g. G9"):
        build(files).load(GENES)
    (files / "anchors.txt").write_text("G2\ng1\n")
    with pytest.raises(ValueError, match=r"e.g. g1; did you mean 'G1'\?"):
        build(files).load(GENES)
    (files / "anchors.txt").write_text("G2\n")
    with pytest.raises(ValueError, match=r"features.relations: string_x not in the graph; it has physical, regulatory"):
        build(files, relations=["string_x"]).load(GENES)
    (files / "anchors.txt").unlink()
    assert any("no such file" in p and "anchors.txt" in p for p in build(files).check())


def test_a_run_reads_them_through_the_baseline(files):
    from cellreg.training.pipeline import Pipeline

    rows = [(a, b) for i, a in enumerate(GENES) for b in GENES[i + 1:]]
    (files / "pairs.tsv").write_text("a\tb\ty\n" + "".join(f"{a}\t{b}\t{i % 5 - 2}\n" for i, (a, b) in enumerate(rows)))
    raw = {"graph": graph_table(),
           "features": [{"name": "graph_profile", "anchors": "anchors.txt", "graph": graph_table()}],
           "phenotypes": {"name": "table", "path": "pairs.tsv", "gene_columns": ["a", "b"], "labels": ["y"]},
           "split": {"kind": "random", "val_fraction": 0.2, "test_fraction": 0.2},
           "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}},
           "train": {"epochs": 1, "progress": False, "select": "val.y.pearson"}}
    (files / "run.toml").write_text(tomli_w.dumps(raw))
    graph = Pipeline.from_file(files / "run.toml").graph
    np.testing.assert_allclose(graph.gene_features.numpy(), reference(True, False))
