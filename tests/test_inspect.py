"""``cellreg inspect``: what it prints is what was loaded, counted independently here."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import tomli_w

from cellreg.commands.cli import main
from cellreg.toolkit import table_cache


def _small_config(tmp_path) -> list[tuple[str, str]]:
    """A config over 10 genes and 54 pairs at tmp_path/c.toml; the pairs."""
    genes = [f"Y{i:02d}" for i in range(10)]
    (tmp_path / "e.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(genes, genes[1:])))  # 9 edges
    (tmp_path / "emb.tsv").write_text("".join(f"{g}\t{i}\t{-i}\n" for i, g in enumerate(genes[:7])))
    rng = np.random.default_rng(0)
    rows = [(genes[i % 10], genes[(3 * i + 1) % 10]) for i in range(60) if i % 10 != (3 * i + 1) % 10]
    (tmp_path / "t.tsv").write_text("a\tb\tscore\n" + "".join(f"{a}\t{b}\t{'NA' if i % 4 == 0 else rng.normal()}\n"
                                                              for i, (a, b) in enumerate(rows)))
    raw = {"graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "chain"}]},
           "features": [{"name": "file", "paths": ["emb.tsv"], "missing": "zeros"}],
           "phenotypes": {"name": "table", "path": "t.tsv", "gene_columns": ["a", "b"]},
           "split": {"kind": "random", "val_fraction": 0.2, "test_fraction": 0.2},
           "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}}}
    (tmp_path / "c.toml").write_text(tomli_w.dumps(raw))
    return rows


def test_the_program_exits_quickly_after_its_output_and_cache_entries_are_out(tmp_path, capsys):
    """``cellreg inspect`` ends without the interpreter's teardown: what it printed and the cache entry
    it was writing on a thread are whole when the process is gone."""
    _small_config(tmp_path)
    assert main(["inspect", str(tmp_path / "c.toml")]) == 0
    expected = capsys.readouterr().out
    script = ("import sys; from cellreg.toolkit import table_cache; table_cache.BACKGROUND_BYTES = 0; "
              "from cellreg.commands.cli import main; main(sys.argv[1:], leave=True); print('not reached')")
    env = {**os.environ, "CELLREG_CACHE": str(tmp_path / "cache"), "CELLREG_CACHE_MIN_BYTES": "0"}
    done = subprocess.run([sys.executable, "-c", script, "inspect", str(tmp_path / "c.toml")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout == expected
    (entry,) = (tmp_path / "cache" / "tables").glob("strains-*.npys")
    assert set(table_cache.read_records(entry)) >= {"sizes", "genes", "labels", "fingerprint"}


def test_inspect_prints_what_was_loaded(tmp_path, capsys):
    rows = _small_config(tmp_path)
    assert main(["inspect", str(tmp_path / "c.toml")]) == 0
    out = capsys.readouterr().out
    measured = sum(1 for i in range(len(rows)) if i % 4)
    assert "chain                undirected unweighted          9 edges" in out
    assert "features[0] (file): 2 columns + a missing indicator, 3 genes without a vector" in out
    assert f"score: {measured:,} of {len(rows):,} strains measured" in out
    n = len(rows)
    from cellreg.training.pipeline import Pipeline  # the rows repeat 10 pairs: whole groups move, so count them

    data = Pipeline.from_file(tmp_path / "c.toml").data
    split, score = data.split, data.table.labels[:, 0].astype(np.float64)
    assert f"(mean {np.nanmean(score):.4g}, sd {np.nanstd(score):.4g})" in out  # over the measured strains
    test, val = len(split.test), len(split.val)
    assert len(split.train) + val + test == n and abs(test - 0.2 * n) <= 6  # groups of 6
    assert f"train {n - test - val:,}, val {val:,}, test {test:,}" in out
    assert f"| 2 | {n:,} | {n - test - val:,} | {val:,} | {test:,} |" in out
    # the chain relation joins held-out pairs at some rate, against random pairs of the table's genes
    assert "## input graphs vs held-out strains" in out and "  chain: joins " in out
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing written


def test_inspect_counts_each_set_size_per_part(tmp_path, capsys):
    """Mixed set sizes: each size's row counts its strains in train, val and test, counted here per strain."""
    genes = [f"Y{i:02d}" for i in range(12)]
    (tmp_path / "e.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(genes, genes[1:])))
    rng = np.random.default_rng(1)
    sets = {tuple(sorted(rng.choice(12, size=k, replace=False).tolist())) for k in (1, 2, 3) * 40}
    (tmp_path / "t.tsv").write_text("genes\tscore\n" + "".join(f"{'+'.join(genes[g] for g in s)}\t{rng.normal()}\n"
                                                               for s in sorted(sets)))
    raw = {"graph": {"name": "edge_list", "files": [{"path": "e.tsv", "relation": "chain"}]},
           "phenotypes": {"name": "table", "path": "t.tsv", "genes": "genes"},
           "split": {"kind": "random", "val_fraction": 0.2, "test_fraction": 0.2},
           "model": {"encoder": {"name": "gene_embedding", "dim": 4}, "head": {"name": "sum_mlp", "hidden": 4}}}
    (tmp_path / "c.toml").write_text(tomli_w.dumps(raw))
    assert main(["inspect", str(tmp_path / "c.toml")]) == 0
    out = capsys.readouterr().out
    from cellreg.training.pipeline import Pipeline

    data = Pipeline.from_file(tmp_path / "c.toml").data
    part = {int(s): name for name in ("train", "val", "test") for s in getattr(data.split, name)}
    for k in (1, 2, 3):
        strains = [s for s in range(len(data.table)) if len(data.table.strain(s)[0]) == k]
        counts = [sum(part[s] == name for s in strains) for name in ("train", "val", "test")]
        assert f"| {k} | {len(strains):,} | " + " | ".join(f"{c:,}" for c in counts) + " |" in out


def test_mean_and_sd_in_blocks_equal_numpys():
    from cellreg.commands.inspect import mean_sd

    values = np.random.default_rng(3).normal(1e4, 2.0, 5001).astype(np.float32)  # a large mean, a small spread
    other = np.random.default_rng(4).normal(-3.0, 0.5, 5001).astype(np.float32)
    table = np.stack([other, np.zeros_like(values), values], axis=1)  # label columns as they lie
    (mean, mean_other), (sd, sd_other) = mean_sd(table, [2, 0], block_bytes=1000)  # in blocks of 62 rows
    assert mean == pytest.approx(values.mean(dtype=np.float64), rel=1e-12)
    assert sd == pytest.approx(values.std(dtype=np.float64), rel=1e-9)
    assert mean_other == pytest.approx(other.mean(dtype=np.float64), rel=1e-12)
    assert sd_other == pytest.approx(other.std(dtype=np.float64), rel=1e-9)
