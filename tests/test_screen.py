"""cellreg screen: the same numbers as predict for every family, the top K of a brute-force sort,
the same result from 2 processes as from 1, clear errors, and memory that does not grow with the
number of designs."""

import csv
import itertools
import logging
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from cellreg.commands.predict import predict
from cellreg.commands.screen import screen
from cellreg.config import ConfigError
from cellreg.data.phenotypes import Perturbation
from cellreg.screen.designs import DesignSpace
from cellreg.training.trainer import run

FAMILIES = {
    "baseline": [],
    "transformer": ['model.encoder={name="transformer", dim=16, layers=1, heads=4, rows=32}',
                    'model.head={name="cross_attention", hidden=16}', 'loss=[{name="mse"}, {name="graph_kl", weight=0.1}]'],
    "dango": ['model.encoder={name="dango", dim=16, recon_rows=64, pretrain_epochs=0, joint_recon_weight=0.001}',
              'model.head={name="hypersagnn", heads=2}', 'loss=[{name="logcosh"}, {name="dango_reconstruction"}]'],
    "lazy": ['model.encoder={name="hetero_cell", dim=8, layers=2}', 'model.head={name="difference", hidden=16}',
             'perturbation={name="lazy_mask"}'],
    "khop": ['model.encoder={name="hetero_cell", dim=8, layers=2}', 'model.head={name="difference", hidden=16}',
             'perturbation={name="khop", k=1}'],
    "dcell": ["graph.hierarchy={branching=4}", 'model.encoder={name="dcell"}', 'model.head={name="dcell"}',
              'loss=[{name="mse"}, {name="dcell_auxiliary"}]'],
}
CANDIDATES = [f"G{i:05d}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import tomli_w
    from conftest import TINY

    root = tmp_path_factory.mktemp("screen")
    config = root / "tiny.toml"
    config.write_text(tomli_w.dumps(TINY))
    for name, sets in FAMILIES.items():
        run(config, root / name, ["train.epochs=1"] + sets)
    run(config, root / "seed1", ["train.epochs=1", "seed=1"])
    return root


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def brute_force(genes, sizes, kinds, added=()):
    """Every design as a set of (gene, kind), by itertools."""
    out = set()
    for size in sizes:
        for j in range(min(len(added), size) + 1):
            for new in itertools.combinations(added, j):
                for old in itertools.combinations(genes, size - j):
                    for ks in itertools.product(kinds, repeat=size - j):
                        out.add(frozenset([(g, "addition") for g in new] + list(zip(old, ks))))
    return out


def as_sets(rows):
    return {frozenset(zip(r["genes"].split("+"), r["kinds"].split("+"))) for r in rows}


def predicted(run_dir, rows, tmp_path, **kwargs):
    """predict's numbers for the screen's rows (the same strains, written as a table)."""
    table = tmp_path / f"{run_dir.name}.tsv"
    table.write_text("genes\tkinds\n" + "".join(f"{r['genes']}\t{r['kinds']}\n" for r in rows))
    return read(predict(run_dir, table, tmp_path / f"{run_dir.name}.pred.tsv", kinds_column="kinds",
                        overwrite=True, **kwargs))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_scores_every_design_as_predict_does(runs, tmp_path, family):
    kinds = ["deletion"] if family in ("lazy", "khop", "dcell") else ["deletion", "knockdown"]  # graph ops, DCell: deletions
    add = ["NEW1"] if family == "transformer" else []
    total = len(brute_force(CANDIDATES, (1, 2, 3), kinds, add))
    out = tmp_path / "top.tsv"
    summary = screen([runs / family], out, objectives=["interaction:max"], genes=CANDIDATES, sizes=[1, 2, 3],
                     kinds=kinds, add=add, top=10_000, progress=False, batch_size=100, allow_unseen=True)
    rows = read(out)
    assert summary["designs"] == total == len(rows)
    assert as_sets(rows) == brute_force(CANDIDATES, (1, 2, 3), kinds, add)  # each design once, none missing
    reference = predicted(runs / family, rows, tmp_path)
    for label in ("fitness", "interaction"):
        ours = np.array([float(r[f"{family}.{label}"]) for r in rows])
        theirs = np.array([float(r[f"pred_{label}"]) for r in reference])
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    score = np.array([float(r["score"]) for r in rows])
    assert np.all(np.diff(score) <= 0)  # ranked
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_top_k_of_two_runs_is_the_brute_force_sort_of_predicted_scores(runs, tmp_path):
    objectives, cautious, k = ["fitness:max", "interaction:min:2"], 1.0, 15
    out = tmp_path / "top.tsv"
    everything = tmp_path / "all.tsv"
    common = dict(objectives=objectives, genes=CANDIDATES + ["G00020", "G00021"], sizes=[2, 3], cautious=cautious,
                  progress=False, batch_size=7)  # many batches: the buffer merges across them
    summary = screen([runs / "baseline", runs / "seed1"], out, top=k, **common)
    screen([runs / "baseline", runs / "seed1"], everything, top=10_000, **common)
    rows, all_rows = read(out), read(everything)
    # The reference: predict scores every design with each run; the objective, mean, sd and score by hand.
    per_run = []
    for name in ("baseline", "seed1"):
        pred = predicted(runs / name, all_rows, tmp_path)
        per_run.append(np.array([float(p["pred_fitness"]) - 2 * float(p["pred_interaction"]) for p in pred]))
    per_run = np.stack(per_run)
    mean, sd = per_run.mean(0), per_run.std(0, ddof=1)
    score = mean - cautious * sd
    order = np.argsort(-score, kind="stable")[:k]
    assert [r["genes"] for r in rows] == [all_rows[i]["genes"] for i in order]
    np.testing.assert_allclose([float(r["score"]) for r in rows], score[order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([float(r["objective_sd"]) for r in rows], sd[order], rtol=1e-4, atol=1e-6)
    # Agreement: the fraction of runs whose own top k holds the design.
    thresholds = np.sort(per_run, axis=1)[:, -k]
    agreement = (per_run[:, order] >= thresholds[:, None] - 1e-6).mean(0)
    np.testing.assert_allclose([float(r["agreement"]) for r in rows], agreement)
    assert summary["kept"] == k and -1 <= summary["spearman"] <= 1


def test_two_processes_keep_exactly_what_one_process_keeps(runs, tmp_path):
    args = [str(runs / "baseline"), str(runs / "seed1"), "--objective", "interaction:max", "--genes", *CANDIDATES,
            "G00030", "G00031", "--sizes", "2", "3", "--top", "12", "--batch-size", "9", "--no-progress"]
    from cellreg.commands.cli import main

    assert main(["screen", *args, "--out", str(tmp_path / "one.tsv")]) == 0
    done = subprocess.run([sys.executable, "-m", "cellreg.commands.cli", "screen", *args, "--out",
                           str(tmp_path / "two.tsv"), "--num-processes", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]  # the ranks' tracebacks, if any
    one, two = (tmp_path / "one.tsv").read_text(), (tmp_path / "two.tsv").read_text()
    assert len(one.splitlines()) == 13 and one == two  # the same designs, scores and agreement, byte for byte


def test_explain_and_an_explicit_table_match_predict(runs, tmp_path):
    table = tmp_path / "designs.tsv"
    table.write_text("genes\tkinds\nG00001+G00002\tdeletion+deletion\nG00003+NEW1\toverexpression+addition\n"
                     "G00004\tknockdown\n")
    out = tmp_path / "top.tsv"
    screen([runs / "transformer"], out, objectives=["fitness:min"], designs=table, kinds_column="kinds",
           explain=True, explain_genes=4, progress=False, allow_unseen=True)
    rows = read(out)
    assert len(rows) == 3
    reference = {p["genes"]: p for p in predicted(runs / "transformer", rows, tmp_path, explain=True, top=4)}
    for r in rows:
        p = reference[r["genes"]]
        assert float(r["transformer.fitness"]) == pytest.approx(float(p["pred_fitness"]), rel=1e-5, abs=1e-6)
        assert r["explain_perturbation_head"] == p["explain_perturbation_head"]
        assert len(r["explain_attention_physical"].split(";")) == 4
    assert [float(r["score"]) for r in rows] == sorted((-float(r["transformer.fitness"]) for r in rows), reverse=True)


def test_dcell_explains_terms_by_name_as_predict_does(runs, tmp_path):
    out = tmp_path / "top.tsv"
    screen([runs / "dcell"], out, genes=CANDIDATES[:4], sizes=[2], objectives=["fitness:min"], explain=True,
           explain_genes=3, progress=False)
    rows = read(out)
    reference = {p["genes"]: p for p in predicted(runs / "dcell", rows, tmp_path, explain=True, top=3)}
    columns = [c for c in rows[0] if c.startswith("explain_")]
    assert columns and all(r[c] == reference[r["genes"]][c] for r in rows for c in columns)
    assert not any(cell.split(":")[0].startswith("G0") for r in rows for c in columns for cell in r[c].split(";"))


def test_limit_and_the_measured_estimate_for_a_per_strain_encoder(runs, tmp_path, caplog):
    out = tmp_path / "top.tsv"
    with caplog.at_level(logging.INFO, logger="cellreg"):
        summary = screen([runs / "lazy"], out, objectives=["fitness:max"], genes=CANDIDATES, sizes=[2, 3], top=100,
                         limit=20, progress=False)
    assert summary["designs"] == 20 and len(read(out)) == 20
    first = {frozenset(map(int, row)) for row in itertools.combinations(range(8), 2)}  # the first 28 ranks: pairs
    assert all(frozenset(CANDIDATES.index(g) for g in r["genes"].split("+")) in first for r in read(out))
    assert "measured" in caplog.text and "designs/s on 16" in caplog.text


def test_bad_inputs_are_refused_with_the_reason_before_any_work(runs, tmp_path):
    out = tmp_path / "top.tsv"
    base = dict(objectives=["interaction:max"], progress=False)
    with pytest.raises(ConfigError, match=r"--genes: gene 'g00001' is not in the organism; did you mean 'G00001'\?"):
        screen([runs / "baseline"], out, genes=["g00001", "G00002"], **base)
    with pytest.raises(ConfigError, match=r"--sizes 4: designs of 4 genes need 4 candidates besides the included "
                                          r"ones, but there are only 3"):
        screen([runs / "baseline"], out, genes=["G00001", "G00002", "G00003"], sizes=[2, 4], **base)
    with pytest.raises(ConfigError, match=r"--objective interactoin: the run has no label 'interactoin'; did you "
                                          r"mean 'interaction'\?"):
        screen([runs / "baseline"], out, genes=CANDIDATES, objectives=["interactoin:max"], progress=False)
    with pytest.raises(ConfigError, match=r"'fitness:up': expected LABEL:max\|min\[:WEIGHT\]"):
        screen([runs / "baseline"], out, genes=CANDIDATES, objectives=["fitness:up"], progress=False)
    with pytest.raises(ConfigError, match="encoder 'gene_embedding' of run .* cannot add genes"):
        screen([runs / "baseline"], out, genes=CANDIDATES, add=["NEW1"], allow_unseen=True, **base)
    features = tmp_path / "new.tsv"
    features.write_text("gene\tf0\tf1\nNEW1\t0.5\t1.5\n")
    with pytest.raises(ConfigError, match="trained without gene features"):
        screen([runs / "transformer"], out, genes=CANDIDATES, add=["NEW1"], added_features=features, allow_unseen=True, **base)
    out.write_text("mine\n")
    with pytest.raises(ConfigError, match="exists; pass --overwrite"):
        screen([runs / "baseline"], out, genes=CANDIDATES, **base)
    assert out.read_text() == "mine\n" and not out.with_suffix(".png").exists()


def test_unranking_enumerates_each_design_once_with_includes_additions_and_kinds():
    names = [f"g{i}" for i in range(9)] + ["new0", "new1"]
    space = DesignSpace(names, organism=[0, 2, 3, 5, 8], added=[9, 10], kinds=[Perturbation.DELETION,
                        Perturbation.OVEREXPRESSION], sizes=[2, 3, 4], include=[(4, Perturbation.KNOCKDOWN)])
    table = space.block(0, len(space))
    kind = [k.name.lower() for k in Perturbation]
    got = [frozenset((names[g], kind[k]) for g, k in zip(*table.strain(s))) for s in range(len(table))]
    expected = {d | {("g4", "knockdown")} for d in brute_force(["g0", "g2", "g3", "g5", "g8"], (1, 2, 3),
                                                                 ["deletion", "overexpression"], ["new0", "new1"])}
    assert len(got) == len(set(got)) == len(space) and set(got) == expected
    ids = np.array([len(space) - 1, 0, 17, 5])  # any ranks, in any order, as the same designs
    picked = space.take(ids)
    assert [frozenset((names[g], kind[k]) for g, k in zip(*picked.strain(i))) for i in range(4)] == [got[i] for i in ids]


def test_memory_of_enumerating_designs_does_not_grow_with_their_number():
    def peak(n):
        space = DesignSpace([f"g{i}" for i in range(n)], organism=range(n), sizes=[2])
        tracemalloc.start()
        count = sum(len(block) for _, block in space.blocks(4096))
        _, high = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return count, high

    (small_n, small), (large_n, large) = peak(100), peak(1000)
    assert (small_n, large_n) == (4950, 499500)  # 100 x the designs ...
    assert large < 2 * small + 100_000  # ... the same memory, a block's worth
    assert large < 499500 * 2 * 8 / 4  # far below the list of designs itself


def test_the_heads_cached_wild_type_terms_follow_a_weight_change(runs):
    """The cross-attention head keeps Φ₀ while a screen's batches share one state; a weight changed
    in place (an optimizer step, loading weights) must not leave it stale."""
    import torch

    from cellreg.screen.scorer import RunScorer

    scorer = RunScorer(runs / "transformer")
    space = DesignSpace(scorer.genes, organism=range(20), sizes=[2])
    block = space.block(0, 50)
    before = scorer(block)
    with torch.no_grad():
        scorer.head.phi.lins[0].weight.mul_(1.5)
    after = scorer(block)
    with torch.enable_grad():  # no cache with autograd on
        batch = scorer.batch(block)
        fresh = scorer.scaler.inverse(scorer.head(scorer.encoder(batch), batch).values.detach())
    assert not torch.allclose(before, after) and torch.allclose(after, fresh, atol=1e-6)
