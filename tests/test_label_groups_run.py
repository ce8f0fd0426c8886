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
