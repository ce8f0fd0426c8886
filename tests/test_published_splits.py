"""Published splits: a benchmark's own test (and validation) files, or a split column, used as they
are; validation carved from training reproducibly; and predict reading genes from several columns."""

from __future__ import annotations

import csv
import json
import logging

import numpy as np
import pytest
import tomli_w

from cellreg.config import ConfigError
from cellreg.training.pipeline import Pipeline

GENES = [f"Y{i:02d}" for i in range(40)]
ALL_PAIRS = [(a, b) for i, a in enumerate(GENES) for b in GENES[i + 1:]]


def pairs(rng, n):
    """``n`` distinct gene pairs (a published test set repeating training pairs is an error)."""
    return [ALL_PAIRS[i] for i in rng.choice(len(ALL_PAIRS), n, replace=False)]


def write_table(path, rows, rng, extra=None):
    head = "query\tarray\tscore" + ("\tsplit" if extra else "")
    lines = [head] + [f"{a}_dma\t{b}_tsa\t{rng.normal():.3f}" + (f"\t{extra[i]}" if extra else "")
                      for i, (a, b) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def bench(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "e.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(GENES, GENES[1:])))
    every = pairs(rng, 170)  # disjoint files
    train = every[:120]
    train += train[:10]  # replicate rows: they must stay on one side of the carved validation set
    write_table(tmp_path / "train.tsv", train, rng)
    write_table(tmp_path / "test.tsv", every[120:150], rng)
    write_table(tmp_path / "val.tsv", every[150:], rng)
    return tmp_path


def config(tmp_path, split, phenotypes=None):
    raw = {"graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "r"}]},
           "phenotypes": phenotypes or {"name": "table", "path": "train.tsv", "gene_columns": ["query", "array"],
                                        "strip_suffix": "_", "labels": ["score"]},
           "split": split,
           "model": {"encoder": {"name": "gene_embedding", "dim": 8}, "head": {"name": "sum_mlp", "hidden": 8}},
           "train": {"epochs": 1, "progress": False, "select": "val.score.pearson"}}
    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(raw))
    return path


def test_the_published_test_file_is_the_test_set(bench):
    data = Pipeline.from_file(config(bench, {"kind": "files", "test": "test.tsv", "val_fraction": 0.2})).data
    split, table = data.split, data.table
    assert len(table) == 130 + 30
    np.testing.assert_array_equal(split.test, np.arange(130, 160))  # exactly the file's rows
    assert set(split.train) | set(split.val) == set(range(130)) and not set(split.train) & set(split.val)
    assert abs(len(split.val) - 0.2 * 130) <= 3
    test_labels = np.loadtxt(bench / "test.tsv", skiprows=1, usecols=2, dtype=np.float32)
    np.testing.assert_allclose(table.labels[split.test, 0], test_labels, rtol=1e-6)
    # replicates of one set stay together
    sides = np.zeros(160, int)
    sides[split.val] = 1
    sides[split.test] = 2
    for i in range(10):
        assert sides[i] == sides[120 + i]
    again = Pipeline.from_file(config(bench, {"kind": "files", "test": "test.tsv", "val_fraction": 0.2})).data.split
    other = Pipeline.from_file(config(bench, {"kind": "files", "test": "test.tsv", "val_fraction": 0.2,
                                             "seed": 1})).data.split
    np.testing.assert_array_equal(again.val, split.val)
    assert not np.array_equal(other.val, split.val)


def test_cross_validation_folds_deal_every_training_row_to_validation_once(bench):
    split = {"kind": "files", "test": "test.tsv"}
    runs = [Pipeline.from_file(config(bench, {**split, "folds": 4, "fold": k})).data.split for k in range(4)]
    vals = [set(r.val.tolist()) for r in runs]
    assert set().union(*vals) == set(range(130)) and sum(map(len, vals)) == 130  # disjoint, covering
    for r in runs:
        assert set(r.train) == set(range(130)) - set(r.val)  # the rest trains
        np.testing.assert_array_equal(r.test, np.arange(130, 160))  # the test file is untouched
        sides = np.zeros(160, int)
        sides[r.val] = 1
        assert all(sides[i] == sides[120 + i] for i in range(10))  # replicates stay in one fold
    assert all(25 <= len(v) <= 40 for v in vals)
    with pytest.raises(ConfigError, match=r"folds = 4, fold = 4: cross-validation needs folds >= 2"):
        Pipeline.from_file(config(bench, {**split, "folds": 4, "fold": 4}))
    with pytest.raises(ConfigError, match=r"folds carve validation out of a published split's training rows"):
        Pipeline.from_file(config(bench, {"kind": "random", "folds": 5}))
    with pytest.raises(ConfigError, match=r"folds carve validation out of a published split's training rows"):
        Pipeline.from_file(config(bench, {**split, "val": "val.tsv", "folds": 5}))


def test_a_published_validation_file_is_used_as_it_is(bench):
    split = Pipeline.from_file(config(bench, {"kind": "files", "test": "test.tsv", "val": "val.tsv"})).data.split
    np.testing.assert_array_equal(split.train, np.arange(130))
    np.testing.assert_array_equal(split.val, np.arange(130, 150))
    np.testing.assert_array_equal(split.test, np.arange(150, 180))


def test_a_run_reports_test_metrics_on_the_published_file(bench):
    from cellreg.training.trainer import run

    run(config(bench, {"kind": "files", "test": "test.tsv"}), bench / "run")
    assert json.loads((bench / "run" / "metrics.json").read_text())["test"]["score"]["n"] == 30


def test_a_test_set_repeated_from_training_is_an_error_unless_dropped_from_train(bench, caplog):
    rng = np.random.default_rng(5)
    rows = [line.split("\t")[:2] for line in (bench / "train.tsv").read_text().splitlines()[1:6]]
    write_table(bench / "leaky.tsv", [(a.removesuffix("_dma"), b.removesuffix("_tsa")) for a, b in rows], rng)
    with pytest.raises(ConfigError, match=r"split.overlap: published split: 5 of 5 test strains repeat a perturbation "
                                          r"set of the training or validation rows \(10 of those rows\).*"
                                          r'overlap = "drop_from_train"'):
        Pipeline.from_file(config(bench, {"kind": "files", "test": "leaky.tsv"})).data
    with caplog.at_level(logging.WARNING, logger="cellreg"):
        data = Pipeline.from_file(config(bench, {"kind": "files", "test": "leaky.tsv", "overlap": "drop_from_train"})).data
    assert "dropped from training and validation" in caplog.text
    train_sets = {tuple(sorted(data.table.strain(r)[0])) for r in np.concatenate([data.split.train, data.split.val])}
    test_sets = {tuple(sorted(data.table.strain(r)[0])) for r in data.split.test}
    assert len(test_sets) == 5 and not train_sets & test_sets
    assert len(data.split.train) + len(data.split.val) + len(data.split.test) == len(data.table) - 10  # each of the 5 sets twice (replicates)


def test_bad_published_splits_fail_before_anything_loads(bench):
    with pytest.raises(ConfigError, match=r'kind = "files" needs test = "path"'):
        Pipeline.from_file(config(bench, {"kind": "files"}))
    with pytest.raises(ConfigError, match=r'test and val files belong to kind = "files"'):
        Pipeline.from_file(config(bench, {"kind": "random", "test": "test.tsv"}))
    with pytest.raises(ConfigError, match=r"split.test: no such file: .*nope.tsv"):
        Pipeline.from_file(config(bench, {"kind": "files", "test": "nope.tsv"})).preflight()
    (bench / "renamed.tsv").write_text((bench / "test.tsv").read_text().replace("\tscore", "\teps", 1))
    renamed = {"name": "table", "path": "train.tsv", "gene_columns": ["query", "array"], "strip_suffix": "_"}
    with pytest.raises(ConfigError, match=r"(?s)split.test \(renamed.tsv\).*no column for label\(s\) 'score', which the "
                                          r"main table has"):
        Pipeline.from_file(config(bench, {"kind": "files", "test": "renamed.tsv"}, renamed)).data
    synthetic = config(bench, {"kind": "files", "test": "test.tsv"}, {"name": "synthetic", "doubles": 50})
    with pytest.raises(ConfigError, match=r"split.kind: \"files\" reads the published strains with the phenotype "
                                          r"source, and 'synthetic' does not read files"):
        Pipeline.from_file(synthetic).preflight()


def test_predict_reads_genes_from_several_columns(bench):
    from cellreg.commands.predict import predict
    from cellreg.training.trainer import run

    run(config(bench, {"kind": "files", "test": "test.tsv"}), bench / "run")
    (bench / "joined.tsv").write_text("genes\nY01+Y02\nY03+Y05\n")
    (bench / "columns.tsv").write_text("query\tarray\nY01_dma\tY02_tsa\nY03_dma\tY05_tsa\n")
    joined = list(csv.DictReader(open(predict(bench / "run", bench / "joined.tsv")), delimiter="\t"))
    columns = list(csv.DictReader(open(predict(bench / "run", bench / "columns.tsv", gene_columns=["query", "array"])),
                                  delimiter="\t"))
    assert [r["genes"] for r in columns] == ["Y01+Y02", "Y03+Y05"]
    assert [r["pred_score"] for r in columns] == [r["pred_score"] for r in joined]


def test_a_split_column_says_where_each_row_belongs(bench):
    rng = np.random.default_rng(1)
    rows = pairs(rng, 90)
    sides = ["train"] * 60 + ["Test"] * 20 + ["val"] * 10
    write_table(bench / "col.tsv", rows, rng, extra=sides)
    table = {"name": "table", "path": "col.tsv", "gene_columns": ["query", "array"], "strip_suffix": "_",
             "labels": ["score"], "keep": ["split"]}
    split = Pipeline.from_file(config(bench, {"kind": "column"}, table)).data.split
    np.testing.assert_array_equal(split.train, np.arange(60))
    np.testing.assert_array_equal(split.test, np.arange(60, 80))
    np.testing.assert_array_equal(split.val, np.arange(80, 90))
    write_table(bench / "col.tsv", rows, rng, extra=["train"] * 70 + ["test"] * 20)  # no val: carved
    split = Pipeline.from_file(config(bench, {"kind": "column", "val_fraction": 0.2}, table)).data.split
    np.testing.assert_array_equal(split.test, np.arange(70, 90))
    assert set(split.val) < set(range(70)) and abs(len(split.val) - 14) <= 2
    write_table(bench / "col.tsv", rows, rng, extra=["train"] * 70 + ["holdout"] * 20)
    with pytest.raises(ConfigError, match=r"split.column: column 'split' must say train, val or test on every row; "
                                          r"found 'holdout' \(first in row 71 of the data\)"):
        Pipeline.from_file(config(bench, {"kind": "column"}, table)).data
    with pytest.raises(ConfigError, match=r"the phenotype table has no column 'split' .* keep = \['split'\]"):
        Pipeline.from_file(config(bench, {"kind": "column"}, table | {"keep": []})).data


def test_the_split_cache_tells_split_columns_apart(bench):
    rng = np.random.default_rng(2)
    rows = pairs(rng, 60)
    lines = ["query\tarray\tscore\tsplit\tother"] + [
        f"{a}_dma\t{b}_tsa\t{rng.normal():.3f}\t{'test' if i < 10 else 'train'}\t{'test' if i >= 50 else 'train'}"
        for i, (a, b) in enumerate(rows)]
    (bench / "two.tsv").write_text("\n".join(lines) + "\n")
    table = {"name": "table", "path": "two.tsv", "gene_columns": ["query", "array"], "strip_suffix": "_",
             "labels": ["score"], "keep": ["split", "other"]}
    first = Pipeline.from_file(config(bench, {"kind": "column", "cache_dir": "cache"}, table)).data.split
    second = Pipeline.from_file(config(bench, {"kind": "column", "column": "other", "cache_dir": "cache"},
                                       table)).data.split
    np.testing.assert_array_equal(first.test, np.arange(10))
    np.testing.assert_array_equal(second.test, np.arange(50, 60))
