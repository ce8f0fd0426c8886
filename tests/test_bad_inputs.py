"""Bad input, as a first-time user gives it: every probe must fail with exit code 2 and one clear
message that names the file, line or key, and must leave every file the user had unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import tomli_w

from cellreg.commands.cli import main
from conftest import TINY

GENES = ["YAL001C", "YBR002W", "YCR003C", "YDL227C", "YDR004W", "YEL005C"]
EDGES = "".join(f"{a}\t{b}\n" for a, b in zip(GENES, GENES[1:]))
SETS = GENES + [f"{a}+{b}" for i, a in enumerate(GENES) for b in GENES[i + 1:]]
TABLE = "genes\tfitness\n" + "".join(f"{s}\t{0.1 * i:.2f}\n" for i, s in enumerate(SETS * 4))


def table_config(**phenotypes) -> dict:
    return {"name": "files", "graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "r"}]},
            "phenotypes": {"name": "table", "path": "p.tsv", "genes": "genes", **phenotypes},
            "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}},
            "train": {"epochs": 1, "progress": False}}


def write(ws: Path, name: str, text: str | bytes) -> Path:
    path = ws / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def config_file(ws: Path, raw: dict, name: str = "run.toml", table: str = TABLE) -> str:
    write(ws, "e.tsv", EDGES)
    write(ws, "p.tsv", table)
    return str(write(ws, name, tomli_w.dumps(raw)))


def tiny(ws: Path, **train) -> str:
    return str(write(ws, "tiny.toml", tomli_w.dumps({**TINY, "train": {**TINY["train"], "epochs": 1, **train}})))


def after(*setup, argv: list) -> list:
    """The argv of a probe whose setup (the arguments, already evaluated) damaged or added files."""
    return argv


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A finished run of the tiny config, shared by the probes that score or compare."""
    root = tmp_path_factory.mktemp("trained")
    assert main(["run", tiny(root), "--out", str(root / "run")]) == 0
    return root / "run"


# Each probe: its workspace -> (argv, fragments the message must contain). `run` is a finished run
# (copied into the workspace, so a probe that damaged it would show up in the hashes).
PROBES = {
    # -- configs: strict, every key named --------------------------------------------------------
    "unknown key": lambda ws, run: (["validate", str(write(ws, "c.toml", tomli_w.dumps({**TINY, "trian": {}})))],
                                    ["c.toml", "unknown key 'trian' (did you mean 'train'?)"]),
    "float for an int": lambda ws, run: (["validate", tiny(ws), "--set", "train.epochs=3.7"],
                                         ["tiny.toml", "train.epochs"]),
    "string for a bool": lambda ws, run: (["validate", tiny(ws), "--set", 'train.progress="no"'],
                                          ["train.progress"]),
    "misspelt plugin": lambda ws, run: (["validate", tiny(ws), "--set", 'model.head={name="sum-mpl"}'],
                                        ["model.head.name", "(did you mean 'sum_mlp'?)"]),
    "missing section": lambda ws, run: (["validate", str(write(ws, "c.toml", tomli_w.dumps(
        {k: v for k, v in TINY.items() if k != "graph"})))], ["c.toml", "graph: missing table [graph]"]),
    "empty loss list": lambda ws, run: (["validate", tiny(ws), "--set", "loss=[]"], ["loss: empty array"]),
    "loss weight as text": lambda ws, run: (["validate", tiny(ws), "--set", 'loss=[{name="mse", weight="x"}]'],
                                            ["loss[0].weight"]),
    "select of no form": lambda ws, run: (["validate", tiny(ws), "--set", 'train.select="best"'],
                                          ["train.select"]),
    "fractions leave no training": lambda ws, run: (["validate", tiny(ws), "--set", "split.val_fraction=0.6",
                                                     "--set", "split.test_fraction=0.5"], ["split"]),
    "nan in a config": lambda ws, run: (["validate", tiny(ws), "--set", "train.lr=nan"], ["train.lr"]),
    "TOML syntax": lambda ws, run: (["validate", str(write(ws, "c.toml", "[train\nepochs = 1\n"))],
                                    ["c.toml", "TOML syntax error", "line 1"]),
    "no such config": lambda ws, run: (["validate", str(ws / "nope.toml")], ["nope.toml", "file not found"]),
    "label the source lacks": lambda ws, run: (["validate", tiny(ws), "--set", 'train.labels=["tau"]'],
                                               ["train.labels: no label 'tau'; labels are: fitness, interaction"]),
    "select of a label the source lacks": lambda ws, run: (
        ["validate", tiny(ws), "--set", 'train.select="val.tau.pearson"'], ["train.select: no label 'tau'"]),
    "missing data file (validate)": lambda ws, run: (
        ["validate", config_file(ws, table_config(path="nope.tsv"))], ["phenotypes.path: no such file", "nope.tsv"]),
    "missing data file (run)": lambda ws, run: (
        ["run", config_file(ws, table_config(path="nope.tsv")), "--out", str(ws / "out")],
        ["phenotypes.path: no such file"]),
    "missing edge file": lambda ws, run: (
        ["validate", config_file(ws, {**table_config(), "graph": {"name": "edge_list", "files": [
            {"path": "e.tsv", "relation": "r"}, {"path": "gone.tsv", "relation": "s"}]}})],
        ["graph.files[1].path: no such file", "gone.tsv"]),
    "table label of another name": lambda ws, run: (
        ["validate", config_file(ws, {**table_config(), "train": {"labels": ["growth"]}})],
        ["train.labels: no label 'growth'; labels are: fitness"]),
    # -- data files: file, line and column ----------------------------------------------------------
    "label never measured in training": lambda ws, run: (
        ["run", config_file(ws, table_config(), table="genes\tfitness\n" + "".join(f"{s}\tNA\n" for s in SETS)),
         "--out", str(ws / "out")], ["label 'fitness' in p.tsv: no measured value in the", "training strains"]),
    "text in a label column": lambda ws, run: (
        ["run", config_file(ws, table_config(), table=TABLE + "YAL001C\tslow\n"), "--out", str(ws / "out")],
        ["p.tsv: line 86, column 'fitness': expected a number, got 'slow'"]),
    "short row": lambda ws, run: (
        ["run", config_file(ws, table_config(kinds="kind"), table="genes\tfitness\tkind\nYAL001C\t1\n"),
         "--out", str(ws / "out")], ["p.tsv: line 2"]),
    "gene in the wrong case": lambda ws, run: (
        ["run", config_file(ws, table_config(), table=TABLE + "yal001c\t1\n"), "--out", str(ws / "out")],
        ["p.tsv", "'yal001c' (line 86, column 'genes'; did you mean 'YAL001C'?)", "gene vocabulary"]),
    "empty table file": lambda ws, run: (
        ["run", config_file(ws, table_config(), table=""), "--out", str(ws / "out")], ["p.tsv: empty file"]),
    "header only": lambda ws, run: (
        ["run", config_file(ws, table_config(), table="genes\tfitness\n"), "--out", str(ws / "out")],
        ["phenotypes (table, p.tsv): no strains to train on"]),
    "unknown kind": lambda ws, run: (
        ["run", config_file(ws, table_config(kinds="kind"), table="genes\tfitness\tkind\nYAL001C\t1\tdeleted!\n"),
         "--out", str(ws / "out")], ["p.tsv: line 2, column 'kind'"]),
    # -- run directories: nothing the user had is overwritten ---------------------------------------
    "--out a folder of the user's files": lambda ws, run: (
        after(write(ws, "mine/config.toml", "# my notes\n"), write(ws, "mine/plots/fig.png", b"\x89PNG"),
              argv=["run", tiny(ws), "--out", ws / "mine"]), ["mine: ", "is not empty (config.toml, plots)",
                                                            "nothing was overwritten"]),
    "--out a run of another config": lambda ws, run: (
        ["run", tiny(ws, lr=0.01), "--out", str(run)], ["already holds a run of another config"]),
    "--out a run of this config": lambda ws, run: (
        ["run", tiny(ws), "--out", str(run)], ["already holds a run of this config; continue it with --resume"]),
    "--resume what is no run": lambda ws, run: (
        ["run", "--resume", str(write(ws, "empty/x.txt", "x").parent)], ["empty", "not a run directory"]),
    "truncated weights": lambda ws, run: (
        after(write(ws, "s.tsv", "genes\nG00001\n"), (run / "weights" / "best.safetensors").write_bytes(b"\x00" * 7),
              argv=["predict", run, "--table", ws / "s.tsv"]), ["best.safetensors: cannot read weights"]),
    "damaged run.json": lambda ws, run: (
        after((run / "run.json").write_text('{"name": 3}'), argv=["predict", run, "--table", ws / "s.tsv"]),
        ["run.json: unusable data", "not a valid run.json: required field missing @ run.json.encoder"]),
    # -- predict ------------------------------------------------------------------------------------
    "predict over its input": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\tid\nG00001\ta\n")), "--out",
         str(ws / "s.tsv")], ["s.tsv", "is the table being scored"]),
    "predict over an existing file": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\nG00001\n")), "--out",
         str(write(ws, "keep.tsv", "precious\n"))], ["keep.tsv", "exists; pass --overwrite"]),
    "predict a table of blank rows": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\n\n\n"))],
        ["s.tsv", "no strains to score"]),
    "predict a gene the organism lacks": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\tkinds\nNEW1\taddition\n"))],
        ["s.tsv: line 2: gene 'NEW1' is not in the graph's vocabulary", "--kinds-column"]),
    "predict a gene in the wrong case": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\ng00001\n"))],
        ["s.tsv: line 2: gene 'g00001'", "did you mean 'G00001'?"]),
    "predict new genes with an encoder that cannot add them": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\tkinds\nNEW1\taddition\n")),
         "--kinds-column", "kinds"], ["s.tsv", "encoder 'gene_embedding' cannot add genes"]),
    "explain a model without attention": lambda ws, run: (
        ["predict", str(run), "--table", str(write(ws, "s.tsv", "genes\nG00001\n")), "--explain"],
        ["has no attention to explain"]),
    "predict a missing table": lambda ws, run: (
        ["predict", str(run), "--table", str(ws / "nope.tsv")], ["nope.tsv"]),
    # -- compare and bench ----------------------------------------------------------------------------
    "compare runs of other data": lambda ws, run: (
        after(_other_data(ws, run), argv=["compare", run, ws / "other"]),
        ["differs from", "in its data", "runs are compared only on the same data and split"]),
    "compare an unfinished run": lambda ws, run: (
        after((run / "metrics.json").unlink(), argv=["compare", run]), ["has no metrics.json"]),
    "bench an unknown method": lambda ws, run: (["bench", "--methods", "nope"], ["unknown method 'nope'"]),
}


def _other_data(ws: Path, run: Path) -> None:
    shutil.copytree(run, ws / "other")
    info = json.loads((ws / "other" / "run.json").read_text())
    (ws / "other" / "run.json").write_text(json.dumps({**info, "data_fingerprint": "another"}))


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("probe", list(PROBES))
def test_bad_input_fails_clearly_and_changes_no_file(probe, trained, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CELLREG_DEBUG", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    run = ws / "run"
    shutil.copytree(trained, run)
    argv, fragments = PROBES[probe](ws, run)
    before = snapshot(ws)
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") <= 4, err  # one message, no traceback
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    assert snapshot(ws) == before  # nothing the user had changed, and nothing half-written was left


def test_probe_count():
    """The closing note of the issue quotes this count."""
    assert len(PROBES) >= 40


def test_a_clashing_or_broken_plugin_breaks_only_the_configs_that_name_it(tmp_path, capsys, monkeypatch):
    import importlib.metadata

    from cellreg import Plugin
    from cellreg.plugin_api import registry as registry_module
    from cellreg.plugin_api.registry import load_registry
    from conftest import FakeEntryPoint, plugin_module

    monkeypatch.delenv("CELLREG_DEBUG", raising=False)
    bundled = list(importlib.metadata.entry_points(group="cellreg"))
    clash = FakeEntryPoint("theirs", plugin_module("theirs", Plugin(kind="head", name="sum_mlp", factory=object)),
                           dist="their-models")
    broken = FakeEntryPoint("mine", None, dist="my-losses", error=ImportError("No module named 'torch_scatter'"))
    monkeypatch.setattr(registry_module, "_default", load_registry(bundled + [clash, broken], allow=None))
    assert main(["plugins"]) == 0  # listing still works, and names both problems
    out = capsys.readouterr().out
    assert "CLASH   head 'sum_mlp' is provided by cellreg (baselines = cellreg_baselines.plugin) and by " \
           "their-models (theirs = fake_theirs)" in out
    assert "BROKEN  mine = fake_mine (my-losses): ImportError: No module named 'torch_scatter'" in out
    config = tiny(tmp_path)
    assert main(["validate", config, "--set", 'model.head={name="mean"}']) == 0  # names neither: unaffected
    capsys.readouterr()
    assert main(["validate", config]) == 2  # names the clashing head
    err = capsys.readouterr().err
    assert "duplicate head plugin 'sum_mlp'" in err and "CELLREG_LOAD_PLUGINS=" in err
    assert main(["validate", config, "--set", 'loss=[{name="my_loss"}]']) == 2
    err = capsys.readouterr().err
    assert "unknown loss plugin 'my_loss'" in err and "plugin my-losses (mine = fake_mine) failed to load" in err


def test_a_label_measured_only_beyond_the_first_training_rows_counts():
    import numpy as np

    from cellreg import PhenotypeTable
    from cellreg.config import DataError
    from cellreg.training.pipeline import check_measured

    n = 10_000
    labels = np.full((n, 2), np.nan, np.float32)
    labels[:, 0] = 1.0
    labels[9_000, 1] = 2.0  # measured once, far past the rows looked at first
    table = PhenotypeTable.from_sets([[i % 7] for i in range(n)], labels, ["a", "b"], [f"g{i}" for i in range(7)])
    check_measured(table, np.arange(n), "<config>", "")
    with pytest.raises(DataError, match=r"label 'b': no measured value in the 8,000 training strains"):
        check_measured(table, np.arange(8_000), "<config>", "")  # its one value is outside training
