import csv
import json

import numpy as np
import pytest

from cellreg.config import ConfigError
from cellreg.training.metrics import regression_metrics
from cellreg.commands.predict import predict
from cellreg.training.trainer import RunDir, run

TRANSFORMER = ['model.encoder={name="transformer", dim=16, layers=1, heads=4, rows=32}',
               'model.head={name="cross_attention", hidden=16}',
               'loss=[{name="mse"}, {name="graph_kl", weight=0.1}]']


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
    import tomli_w
    from conftest import TINY

    root = tmp_path_factory.mktemp("predict")
    config = root / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    run(config, root / "baseline", ["train.epochs=2"])
    run(config, root / "transformer", ["train.epochs=2"] + TRANSFORMER)
    return root


def write_table(path, rows, kinds=None):
    with open(path, "w") as f:
        f.write("genes\tkinds\n" if kinds else "genes\n")
        for i, genes in enumerate(rows):
            f.write(f"{genes}\t{kinds[i]}\n" if kinds else f"{genes}\n")


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_predictions_reproduce_the_runs_test_metrics(runs, tmp_path):
    """Score the run's own test strains from a file: the metrics must be the ones training reported."""
    from cellreg.training.pipeline import Pipeline
    from cellreg.plugin_api.run_config import load_config
    from cellreg.plugin_api.registry import default_registry

    rd = RunDir(runs / "baseline")
    split = rd.read_split()
    data = Pipeline(load_config(rd.config), default_registry(), runs, split=split).data
    test = data.table.select(split.test)
    names = [ "+".join(data.graph.genes[g] for g in test.strain(i)[0]) for i in range(len(test))]
    write_table(tmp_path / "test.tsv", names)
    out = predict(rd.root, tmp_path / "test.tsv")
    rows = read(out)
    assert [r["genes"] for r in rows] == names and rows[0]["kinds"].split("+")[0] == "deletion"
    reported = json.loads(rd.metrics.read_text())["test"]
    for j, label in enumerate(data.table.label_names):
        pred = np.array([float(r[f"pred_{label}"]) for r in rows])
        ours = regression_metrics(pred, test.labels[:, j])
        assert ours["pearson"] == pytest.approx(reported[label]["pearson"], rel=1e-5)
        assert ours["mse"] == pytest.approx(reported[label]["mse"], rel=1e-3)


def test_transformer_scores_added_genes_and_explains(runs, tmp_path):
    write_table(tmp_path / "s.tsv", ["G00001+G00002", "G00001+NEW1", "NEW1+NEW2+G00003"],
                kinds=["deletion", "deletion+addition", "addition+addition+deletion"])
    out = predict(runs / "transformer", tmp_path / "s.tsv", tmp_path / "p.tsv", kinds_column="kinds",
                  explain=True, top=3)
    rows = read(out)
    assert rows[1]["genes"] == "G00001+NEW1" and rows[1]["kinds"] == "deletion+addition"
    assert all(np.isfinite(float(r["pred_interaction"])) for r in rows)
    assert {"explain_perturbation_head", "explain_attention_physical"} <= set(rows[0])
    top = rows[0]["explain_attention_physical"].split(";")
    assert len(top) == 3 and all(t.split(":")[0].startswith(("G", "NEW")) for t in top)


def test_unknown_gene_not_marked_addition_is_refused(runs, tmp_path):
    write_table(tmp_path / "bad.tsv", ["G00001+NOPE"])
    with pytest.raises(ValueError, match=r"line 2: gene 'NOPE' is not in the graph's vocabulary; only genes "
                                         r"marked 'addition' may be new"):
        predict(runs / "transformer", tmp_path / "bad.tsv")


def test_encoder_without_added_gene_support_says_so(runs, tmp_path):
    write_table(tmp_path / "s.tsv", ["G00001+NEW1"], kinds=["deletion+addition"])
    with pytest.raises(ConfigError, match="genes NEW1 are not in the organism and encoder 'gene_embedding' "
                                          "cannot add genes"):
        predict(runs / "baseline", tmp_path / "s.tsv", kinds_column="kinds")
    with pytest.raises(ConfigError, match="has no attention to explain"):
        write_table(tmp_path / "ok.tsv", ["G00001"])
        predict(runs / "baseline", tmp_path / "ok.tsv", explain=True)


def test_new_strains_are_read_with_the_training_tables_options(tmp_path):
    """A run trained on a Costanzo-style table (strip_suffix, drop_genes, delimiter) reads new strains alike."""
    import tomli_w

    genes = [f"Y{i:02d}" for i in range(12)]
    (tmp_path / "e.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(genes, genes[1:])))
    rng = np.random.default_rng(0)
    rows = [(genes[i % 12], genes[(i * 5 + 1) % 12]) for i in range(80) if i % 12 != (i * 5 + 1) % 12]
    (tmp_path / "train.txt").write_text("query;array;score\n" + "".join(
        f"{a}_tsq{i}+MARK_y13;{b}_dma{i};{rng.normal():.3f}\n" for i, (a, b) in enumerate(rows)))
    raw = {"graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "r"}]},
           "phenotypes": {"name": "table", "path": "train.txt", "gene_columns": ["query", "array"],
                          "delimiter": ";", "strip_suffix": "_", "drop_genes": ["MARK"], "labels": ["score"]},
           "split": {"kind": "random"},
           "model": {"encoder": {"name": "gene_embedding", "dim": 8}, "head": {"name": "sum_mlp", "hidden": 8}},
           "train": {"epochs": 1, "progress": False}}
    (tmp_path / "run.toml").write_text(tomli_w.dumps(raw))
    run(tmp_path / "run.toml", tmp_path / "run")
    (tmp_path / "new.txt").write_text("genes;note\nY01_dma1+Y02_tsq7+MARK_y13;a\nY03_damp2;b\n")
    (tmp_path / "plain.txt").write_text("genes;note\nY01+Y02;a\nY03;b\n")
    new = read(predict(tmp_path / "run", tmp_path / "new.txt"))
    plain = read(predict(tmp_path / "run", tmp_path / "plain.txt"))
    assert [r["genes"] for r in new] == ["Y01+Y02", "Y03"]
    assert new == plain


def test_strains_larger_than_any_in_training_are_flagged(runs, tmp_path, caplog):
    import logging

    write_table(tmp_path / "s.tsv", ["G00001+G00002", "+".join(f"G{i:05d}" for i in range(1, 9))])
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        predict(runs / "baseline", tmp_path / "s.tsv")
    assert ("1 of 2 strains are outside what training saw: set size 8 (trained on 1, 2, 3 genes per strain)"
            in caplog.text)
