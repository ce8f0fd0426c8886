"""Labels reaching a model through its input graph: the per-relation report against random gene
sets (checked against a brute-force count), and held_out_edges = "drop" (no edge joins two genes of
a validation or test strain; the training pairs' edges stay; a trained run scores on the same graph)."""

from __future__ import annotations

import itertools
import json
import logging

import numpy as np
import pytest
import tomli_w

from cellreg.data.graph import CellGraph
from cellreg.data.leaks import leak_report
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.training.pipeline import Pipeline

GENES = [f"Y{i:02d}" for i in range(60)]


def test_the_report_counts_held_out_sets_some_edge_joins():
    rng = np.random.default_rng(0)
    sets = [list(rng.choice(30, size=rng.integers(1, 4), replace=False)) for _ in range(200)]
    table = PhenotypeTable.from_sets(sets, np.zeros((200, 1)), ["y"], GENES)
    edges = {tuple(sorted(rng.choice(30, 2, replace=False))) for _ in range(60)}
    src, dst = np.array([e[0] for e in edges]), np.array([e[1] for e in edges])
    graph = CellGraph.from_edges(GENES, [("r", src, dst, None, False), ("empty", src[:0], dst[:0], None, False)])
    held = np.arange(0, 200, 3)
    (leak, empty), = [leak_report(graph, table, held)]
    multi = [sets[i] for i in held if len(sets[i]) >= 2]
    joined = [any(tuple(sorted(p)) in edges for p in itertools.combinations(s, 2)) for s in multi]
    assert leak.relation == "r" and leak.strains == len(multi) and leak.joined == pytest.approx(np.mean(joined))
    assert 0 < leak.base < 1 and empty.joined == empty.base == 0 and not empty.far_above


@pytest.fixture
def leaky(tmp_path):
    """A 'genetic' network made of the table's own pairs (as BioGRID's holds Costanzo's), and a
    'physical' one of random pairs."""
    rng = np.random.default_rng(1)
    pairs = list({tuple(sorted(rng.choice(60, 2, replace=False))) for _ in range(80)})
    (tmp_path / "t.tsv").write_text("a\tb\tscore\n" + "".join(f"{GENES[a]}\t{GENES[b]}\t{rng.normal():.3f}\n"
                                                              for a, b in pairs))
    (tmp_path / "genetic.tsv").write_text("".join(f"{GENES[a]}\t{GENES[b]}\n" for a, b in pairs))
    (tmp_path / "physical.tsv").write_text("".join(f"{GENES[i]}\t{GENES[(7 * i + 3) % 30]}\n" for i in range(30)))

    def config(**split):
        raw = {"graph": {"name": "edge_list", "genes": "genes.txt", "files": [
                   {"path": "genetic.tsv", "relation": "genetic"}, {"path": "physical.tsv", "relation": "physical"}]},
               "phenotypes": {"name": "table", "path": "t.tsv", "gene_columns": ["a", "b"]},
               "split": {"kind": "random", "val_fraction": 0.2, "test_fraction": 0.2, **split},
               "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}},
               "train": {"epochs": 1, "progress": False}}
        (tmp_path / "genes.txt").write_text("\n".join(GENES) + "\n")
        (tmp_path / "c.toml").write_text(tomli_w.dumps(raw))
        return tmp_path / "c.toml"

    return tmp_path, pairs, config


def _edge_set(graph, relation):
    return {tuple(e) for e in graph.relations[relation].edge_index.numpy().T.tolist()}


def test_a_relation_made_of_the_labels_is_reported_and_its_held_out_edges_dropped(leaky, caplog):
    tmp_path, pairs, config = leaky
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        kept = Pipeline.from_file(config())
        leaks = {leak.relation: leak for leak in kept.data.leaks}
    assert leaks["genetic"].joined == 1.0 and leaks["genetic"].far_above and not leaks["physical"].far_above
    assert 'genetic: joins 100.0% of' in caplog.text and 'held_out_edges = "drop"' in caplog.text
    assert len(_edge_set(kept.graph, "genetic")) == len(pairs)

    dropped = Pipeline.from_file(config(held_out_edges="drop"))
    data, graph = dropped.data, dropped.graph
    held = np.concatenate([data.split.val, data.split.test])
    held_pairs = {tuple(sorted(data.table.strain(r)[0].tolist())) for r in held}
    train_pairs = {tuple(sorted(data.table.strain(r)[0].tolist())) for r in data.split.train}
    for relation in ("genetic", "physical"):
        edges = _edge_set(graph, relation)
        assert not edges & held_pairs  # no edge joins a held-out strain's genes
        assert edges == _edge_set(kept.graph, relation) - held_pairs  # and nothing else went
    assert _edge_set(graph, "genetic") == train_pairs
    assert {k: len(v) for k, v in data.dropped.items()}["genetic"] == len(held_pairs)


def test_a_run_trained_without_held_out_edges_scores_on_the_same_graph(leaky):
    from cellreg.commands.predict import predict
    from cellreg.training.trainer import run

    tmp_path, pairs, config = leaky
    run(config(held_out_edges="drop"), tmp_path / "run")
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    rebuilt = Pipeline.from_run(tmp_path / "run")
    assert rebuilt.graph.fingerprint() == info["graph_fingerprint"]  # else predict would refuse the run
    (tmp_path / "new.tsv").write_text("genes\nY01+Y02\n")
    predict(tmp_path / "run", tmp_path / "new.tsv", tmp_path / "pred.tsv")
    assert (tmp_path / "pred.tsv").read_text().count("\n") == 2
