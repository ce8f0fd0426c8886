import json

import pytest

from cellreg.commands.compare import compare
from cellreg.config import ConfigError
from cellreg.training.trainer import run


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    import tomli_w
    from conftest import TINY

    root = tmp_path_factory.mktemp("cmp")
    config = root / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    run(config, root / "a", ["train.epochs=1", 'name="additive"'])
    run(config, root / "b", ["train.epochs=1", 'name="mean"', 'model.encoder={name="none"}', 'model.head={name="mean"}'])
    run(config, root / "c", ["train.epochs=1", "split.seed=5"])  # same data, another split
    run(config, root / "d", ["train.epochs=1", "phenotypes.noise=0.05"])  # other data
    return root


def test_compare_tabulates_runs_on_the_same_split(three_runs, tmp_path):
    table = compare([three_runs / "a", three_runs / "b"], tmp_path / "out")
    lines = table.splitlines()
    assert lines[0].startswith("| run | model | split | label | n | Pearson [95% CI] | Spearman [95% CI] | RMSE [95% CI] | R² [95% CI] | train s |")
    rows = [l for l in lines[2:]]
    assert len(rows) == 4 and rows[0].startswith("| additive | gene_embedding + sum_mlp | gene_held_out | fitness |")
    reported = json.loads((three_runs / "a" / "metrics.json").read_text())["test"]["fitness"]
    lo, hi = reported["ci95"]["pearson"]
    assert f"{reported['pearson']:.3f} [{lo:.3f}, {hi:.3f}]" in rows[0]
    assert "| n/a |" in rows[2]  # Pearson is undefined for the constant mean baseline
    assert (tmp_path / "out" / "compare.png").stat().st_size > 1000


def test_compare_refuses_other_split_or_data_and_says_which(three_runs):
    with pytest.raises(ConfigError) as exc:
        compare([three_runs / "a", three_runs / "c", three_runs / "d"])
    errors = exc.value.errors
    assert errors[0].startswith(f"{three_runs / 'c'} differs from {three_runs / 'a'} in its split (split_key ")
    assert any(e.startswith(f"{three_runs / 'd'} differs from {three_runs / 'a'} in its data (data_fingerprint ")
               for e in errors)


def test_runs_on_different_labels_of_the_same_data_compare(three_runs, tmp_path):
    from conftest import TINY
    import tomli_w

    config = tmp_path / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    run(config, tmp_path / "e", ["train.epochs=1", 'train.labels=["interaction"]'])
    table = compare([three_runs / "a", tmp_path / "e"], tmp_path / "out")
    assert len(table.splitlines()) == 2 + 2 + 1  # a: fitness + interaction; e: interaction only
