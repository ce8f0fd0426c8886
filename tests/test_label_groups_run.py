"""A run whose table declares a label group: metrics, select, run.json, report, compare and plots
all speak of the group."""

import json

import attrs
import pytest

from cellreg.data.label_groups import LabelGroup


@pytest.fixture(scope="module")
def grouped_run(tmp_path_factory):
    import tomli_w
    from cellreg_synthetic.phenotypes import SyntheticPhenotypes
    from conftest import TINY

    from cellreg.training.trainer import run

    root = tmp_path_factory.mktemp("groups")
    config = root / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    original = SyntheticPhenotypes.load

    def load(self, graph):  # the synthetic source, declaring its two labels one group
        table = original(self, graph)
        return attrs.evolve(table, label_groups=[LabelGroup("both", ["fitness", "interaction"], unit="log2")])

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SyntheticPhenotypes, "load", load)
        mp.setattr(SyntheticPhenotypes, "label_groups", lambda self: [LabelGroup("both", ["fitness", "interaction"])])
        report = run(config, root / "run", ["train.epochs=2", 'train.select="val.both.r2"'])
    plain = run(config, root / "plain", ["train.epochs=2"])
    return root, report, plain


def test_metrics_and_select_are_per_group(grouped_run):
    root, report, plain = grouped_run
    assert report["select"] == "val.both.r2" and list(report["test"]) == ["both", "loss"]
    both = report["test"]["both"]
    assert set(both["labels"]) == {"fitness", "interaction"}
    assert both["r2"] == pytest.approx((both["labels"]["fitness"]["r2"] + both["labels"]["interaction"]["r2"]) / 2)
    assert "ci95" in both["labels"]["interaction"]
    history = [json.loads(line) for line in (root / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("both" in h["val"] for h in history)
    # a table without declared groups reports per label exactly as before
    assert list(plain["test"]) == ["fitness", "interaction", "loss"] and plain["select"] == "val.interaction.pearson"


def test_the_run_directory_keeps_the_groups_for_compare_and_the_report(grouped_run):
    from cellreg.commands.cli import format_report
    from cellreg.commands.compare import compare
    from cellreg.training.rundir import RunDir

    root, report, _ = grouped_run
    info = RunDir(root / "run").read_info()
    assert info.groups() == (LabelGroup("both", ["fitness", "interaction"], unit="log2"),)
    text = format_report(report, str(root / "run"))
    assert "| test | both | " in text and "| test | fitness |" not in text
    table = compare([root / "run"], root / "cmp")
    lines = table.splitlines()
    assert lines[0].startswith("| run | model | split | scalar group | n | Pearson |")  # no interval for a mean
    assert lines[2].startswith("| tiny | gene_embedding + sum_mlp | gene_held_out | both | ")
    assert sorted(p.name for p in (root / "run" / "plots").iterdir()) == [
        "learning_curves.png", "test_pearson_by_label.png", "test_predicted_vs_observed.png"]


def _table_workspace(tmp_path, groups):
    import numpy as np
    import tomli_w

    rng = np.random.default_rng(0)
    genes = [f"Y{i:02d}" for i in range(30)]
    (tmp_path / "edges.tsv").write_text("".join(f"{genes[i]}\t{genes[(i * 7 + 1) % 30]}\n" for i in range(30)))
    rows = ["genes\tfitness\tgrowth_26\tgrowth_30"]
    for _ in range(240):
        pair = rng.choice(30, 2, replace=False)
        rows.append("+".join(genes[g] for g in pair) + "\t" + "\t".join(f"{v:.3f}" for v in rng.normal(size=3)))
    (tmp_path / "table.tsv").write_text("\n".join(rows) + "\n")
    config = {"name": "grouped", "graph": {"name": "edge_list", "files": [{"path": "edges.tsv", "relation": "physical"}]},
              "phenotypes": {"name": "table", "path": "table.tsv", "genes": "genes", "groups": groups},
              "split": {"kind": "random"},
              "model": {"encoder": {"name": "gene_embedding", "dim": 8}, "head": {"name": "sum_mlp", "hidden": 8}},
              "train": {"epochs": 1, "progress": False, "select": "val.growth.pearson"}}
    (tmp_path / "run.toml").write_text(tomli_w.dumps(config))
    return tmp_path / "run.toml"


def test_a_strain_table_declares_groups_in_its_config(tmp_path):
    from cellreg.training.trainer import run

    path = _table_workspace(tmp_path, [{"name": "growth", "labels": ["growth_26", "growth_30"], "unit": "OD600"}])
    report = run(path, tmp_path / "out")
    assert list(report["test"]) == ["fitness", "growth", "loss"] and report["select"] == "val.growth.pearson"
    assert set(report["test"]["growth"]["labels"]) == {"growth_26", "growth_30"}


def test_a_group_naming_no_column_of_the_table_fails_before_any_work(tmp_path):
    from cellreg.commands.cli import main
    from cellreg.config import ConfigError
    from cellreg.training.pipeline import Pipeline

    path = _table_workspace(tmp_path, [{"name": "growth", "labels": ["growth_26", "growth_37"]}])
    with pytest.raises(ConfigError) as info:
        Pipeline.from_file(path).preflight()
    assert "phenotypes.groups[0].labels: no label 'growth_37' in" in str(info.value)
    assert "did you mean 'growth_30'?" in str(info.value) or "did you mean 'growth_26'?" in str(info.value)
    assert main(["validate", str(path)]) == 2
