"""The shipped real benchmark (examples/real/, docs/real_benchmark.md) loads through the example configs
as DCell published it: the published pair counts, the subsystem's genes, no test pair in training,
and the same strains under every family's graph (STRING v9.1 and DCell's ontology)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cellreg.training.pipeline import Pipeline

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
REAL = EXAMPLES / "real"


def read_pairs(name: str) -> list[tuple[str, str, float]]:
    with open(REAL / name, newline="") as f:
        return [(r["gene_a"], r["gene_b"], float(r["interaction"])) for r in csv.DictReader(f, delimiter="\t")]


def strain_pairs(data, rows) -> list[frozenset]:
    t, names = data.table, data.table.gene_names
    return [frozenset(names[g] for g in t.genes[t.offsets[s]:t.offsets[s + 1]]) for s in rows]


@pytest.fixture(scope="module")
def baseline():
    return Pipeline.from_file(EXAMPLES / "real_baseline.toml").data


def test_the_published_split_is_loaded_as_published(baseline):
    split = baseline.split
    assert len(split.train) + len(split.val) == 5092 and len(split.test) == 1724
    assert abs(len(split.val) - 0.1 * 5092) < 2 and split.val.max() < 5092  # carved from the training file only
    train = read_pairs("GO_0000790_train.tsv")
    test = read_pairs("GO_0000790_test.tsv")
    # the test strains are the test file's pairs with their scores, in file order
    assert strain_pairs(baseline, split.test) == [frozenset(p[:2]) for p in test]
    col = baseline.table.label_index("interaction")
    np.testing.assert_allclose(baseline.table.labels[split.test, col], [p[2] for p in test], rtol=0, atol=1e-6)
    seen = set(strain_pairs(baseline, np.concatenate([split.train, split.val])))
    assert seen == {frozenset(p[:2]) for p in train}
    assert not seen & set(strain_pairs(baseline, split.test))  # no test pair is trained or validated on
    assert len({g for p in train + test for g in p[:2]}) == 124  # the subsystem's genes, all in STRING v9.1
    assert baseline.graph.num_genes == 6400


def test_dcell_on_its_ontology_sees_the_same_strains_and_split(baseline):
    dcell = Pipeline.from_file(EXAMPLES / "real_dcell.toml").data
    assert dcell.graph.genes == baseline.graph.genes  # one vocabulary: runs of both are comparable
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(dcell.split, part), getattr(baseline.split, part))
    np.testing.assert_array_equal(dcell.table.labels, baseline.table.labels)


def test_every_real_example_names_the_published_split():
    import tomllib

    configs = sorted(EXAMPLES.glob("real_*.toml"))
    assert len(configs) >= 5
    for path in configs:
        raw = tomllib.loads(path.read_text())
        assert raw["split"]["kind"] == "files" and raw["split"]["test"] == "real/GO_0000790_test.tsv", path.name
        assert raw["train"]["labels"] == ["interaction"] and raw["train"]["select"] == "val.interaction.pearson"


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("real_benchmark", EXAMPLES.parent / "scripts" / "real_benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_run(path: Path, obs, pred, val_carve) -> None:
    import json

    path.mkdir(parents=True)
    r = float(np.corrcoef(pred, obs)[0, 1])
    (path / "metrics.json").write_text(json.dumps({"test": {"interaction": {"pearson": r}},
                                                   "val": {"interaction": {"pearson": 0.5}}}))
    np.savez(path / "split.npz", val=val_carve)
    rows = "".join(f"G{i}+H{i}\tdeletion+deletion\t{o}\t{p}\n" for i, (o, p) in enumerate(zip(obs, pred)))
    (path / "test_predictions.tsv").write_text("genes\tkinds\tinteraction\tpred_interaction\n" + rows)


def test_the_table_pairs_families_on_the_same_test_pairs(tmp_path):
    """The paired bootstrap against hand-made predictions: a family identical to the baseline differs
    by exactly 0 on every resample; a perfect one by 1 - r(baseline) on the point estimate, above 0 on
    every resample; a run on another validation carve is refused."""
    script = _script()
    rng = np.random.default_rng(0)
    obs = rng.standard_normal(200)
    base = {s: obs + rng.standard_normal(200) * 2 for s in range(3)}
    for s in range(3):
        _fake_run(tmp_path / "runs" / f"baseline_s{s}", obs, base[s], np.arange(5))
        _fake_run(tmp_path / "runs" / f"same_s{s}", obs, base[s], np.arange(5))
        _fake_run(tmp_path / "runs" / f"perfect_s{s}", obs, obs * 3 + 1, np.arange(5))
    text = script.table(tmp_path, ["baseline", "same", "perfect"], [0, 1, 2], n_boot=300, seed=0)
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()[2:] if line]
    rows = {c[0]: c for c in cells}
    assert rows["same"][4:6] == ["+0.000", "[+0.000, +0.000]"]
    gap = np.mean([1 - np.corrcoef(base[s], obs)[0, 1] for s in range(3)])
    assert rows["perfect"][4] == f"{gap:+.3f}" and rows["perfect"][6] == "1.000"
    _fake_run(tmp_path / "runs" / "other_s0", obs, obs, np.arange(1, 6))
    with pytest.raises(SystemExit, match="another validation carve"):
        script.table(tmp_path, ["baseline", "other"], [0], n_boot=10, seed=0)


def _fake_fold(path: Path, genes, obs, pred) -> None:
    import json

    path.mkdir(parents=True)
    r = float(np.corrcoef(pred, obs)[0, 1])
    (path / "metrics.json").write_text(json.dumps({"val": {"interaction": {"pearson": r}}}))
    rows = "".join(f"{g}\tdeletion+deletion\t{o}\t{p}\n" for g, o, p in zip(genes, obs, pred))
    (path / "val_predictions.tsv").write_text("genes\tkinds\tinteraction\tpred_interaction\n" + rows)


def test_cross_validation_pools_out_of_fold_predictions_and_selects_the_best(tmp_path):
    """Every training pair once, out of fold: the pooled Pearson equals the one over all pairs, whatever
    the order of the folds; the best family is marked selected; a pair in two folds is refused."""
    script = _script()
    rng = np.random.default_rng(1)
    genes = np.array([f"G{i}+H{i}" for i in range(300)])
    obs = rng.standard_normal(300)
    noisy = obs + rng.standard_normal(300)
    folds = np.array_split(rng.permutation(300), 3)
    for k, at in enumerate(folds):
        _fake_fold(tmp_path / "cv" / f"baseline_f{k}", genes[at], obs[at], noisy[at])
        _fake_fold(tmp_path / "cv" / f"perfect_f{k}", genes[at][::-1], obs[at][::-1], 3 * obs[at][::-1] + 1)
    text = script.cv(tmp_path, ["baseline", "perfect"], 3, n_boot=200, seed=0, ensembles=["baseline+perfect"])
    rows = {c[0]: c for c in ([x.strip() for x in line.strip().strip("|").split("|")]
                              for line in text.splitlines()[2:] if line)}
    assert rows["baseline"][1] == f"{np.corrcoef(noisy, obs)[0, 1]:.3f}"
    assert rows["**perfect** (selected)"][1] == "1.000" and rows["**perfect** (selected)"][5] == "1.000"
    both = np.corrcoef((noisy + 3 * obs + 1) / 2, obs)[0, 1]
    assert rows["baseline+perfect"][1] == f"{both:.3f}"
    _fake_fold(tmp_path / "cv" / "twice_f0", genes[folds[0]], obs[folds[0]], obs[folds[0]])
    _fake_fold(tmp_path / "cv" / "twice_f1", genes[folds[0]], obs[folds[0]], obs[folds[0]])
    _fake_fold(tmp_path / "cv" / "twice_f2", genes[folds[2]], obs[folds[2]], obs[folds[2]])
    with pytest.raises(SystemExit, match="not the same training pairs"):
        script.cv(tmp_path, ["baseline", "twice"], 3, n_boot=10, seed=0)
    with pytest.raises(SystemExit, match="predicted by two folds"):
        script.cv(tmp_path, ["twice"], 3, n_boot=10, seed=0)


def test_best_sets_take_the_best_validation_candidate(tmp_path):
    """The best complete trial's values as --set arguments, read from its resolved config (a key path
    into an array of tables included); none when the config as it is did at least as well."""
    import json

    script = _script()
    head = "trial\tstate\tval.interaction.pearson\tepochs\tseconds\tseed\tmodel.encoder.dim\tloss[1].weight\trun_dir\n"
    rows = [("0", "complete", "0.41", "trials/t0"), ("1", "pruned", "0.90", "trials/t1"),
            ("2", "complete", "0.52", "trials/t2")]
    (tmp_path / "trials.tsv").write_text(head + "".join(f"{t}\t{s}\t{v}\t3\t1\t7\t0\t0\t{d}\n" for t, s, v, d in rows))
    for name, dim, weight in (("t0", 8, 0.5), ("t1", 16, 0.25), ("t2", 32, 0.125)):
        (tmp_path / "trials" / name).mkdir(parents=True)
        (tmp_path / "trials" / name / "config.toml").write_text(
            f'[model.encoder]\nname = "x"\ndim = {dim}\n\n[[loss]]\nname = "mse"\n\n[[loss]]\nname = "kl"\nweight = {weight}\n')
    assert script.best_sets(tmp_path) == ["model.encoder.dim=32", "loss[1].weight=0.125"]
    for own, expected in ((0.51, ["model.encoder.dim=32", "loss[1].weight=0.125"]), (0.52, [])):
        (tmp_path / "own").mkdir(exist_ok=True)
        (tmp_path / "own" / "metrics.json").write_text(json.dumps({"val": {"interaction": {"pearson": own}}}))
        assert script.best_sets(tmp_path, tmp_path / "own") == expected
