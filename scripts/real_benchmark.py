"""Helpers of scripts/real_benchmark.sh (docs/real_benchmark.md).

    python scripts/real_benchmark.py best-sets SWEEP_DIR        the best validation trial's swept values as
                                                               --set arguments, one per line
    python scripts/real_benchmark.py val-table RUN TRAIN.tsv OUT.tsv
                                                               the run's validation rows of the training file
    python scripts/real_benchmark.py summary RUN...              validation and test Pearson, selected epoch
    python scripts/real_benchmark.py carves OUT FAMILY... --splits 0 1 2 3 4
                                                               per family: validation and test Pearson on
                                                               each validation carve (scripts/real_carves.sh)
    python scripts/real_benchmark.py joined OUT FAMILY...       Pearson on the validation and test pairs that
                                                               STRING joins and those it does not
    python scripts/real_benchmark.py cv OUT FAMILY... --folds 5 [--ensemble A+B] [--docs docs/results.md]
                                                               per family: the Pearson of its out-of-fold
                                                               predictions over every training pair (K runs,
                                                               split.folds = K) and the paired bootstrap of its
                                                               difference from the first; the selection
    python scripts/real_benchmark.py table OUT FAMILY... [--ensemble A+B] [--docs docs/results.md]
                                                               test Pearson per family over seeds and the
                                                               paired bootstrap of its difference from the first

The table reads each run's per-pair test predictions (``cellreg predict`` of the published test file into
RUN/test_predictions.tsv), checks they give the Pearson the run reported, and resamples the test pairs
once for every family and seed, so each difference is paired on the same pairs.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np
import tomli_w

SELECT = "val.interaction.pearson"


def _get(config: dict, key: str):
    """A config value by its key path (``loss[1].weight``), as ``--set`` names it."""
    value = config
    for part in key.split("."):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        value = value[m.group(1)][int(m.group(2))] if m else value[part]
    return value


def best_sets(sweep: Path, defaults: Path | None = None) -> list[str]:
    """``KEY=VALUE`` (TOML) for every swept key, from the best complete trial's resolved config; none
    when ``defaults`` (a run of the config as it is, at the sweep's seed) did at least as well."""
    with open(sweep / "trials.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    done = [r for r in rows if r["state"] == "complete" and r[SELECT]]
    if not done:
        sys.exit(f"{sweep}/trials.tsv: no complete trial")
    best = max(done, key=lambda r: float(r[SELECT]))
    if defaults is not None:
        own = json.loads((defaults / "metrics.json").read_text())["val"]["interaction"]["pearson"]
        print(f"{sweep.name}: the config's own settings {own:.4f}, best trial {best['trial']} "
              f"{float(best[SELECT]):.4f} (validation)", file=sys.stderr)
        if own >= float(best[SELECT]):
            return []
    keys = [k for k in rows[0] if k not in {"trial", "state", SELECT, "epochs", "seconds", "seed", "run_dir"}]
    run = Path(best["run_dir"])
    config = tomllib.loads(((run if run.is_absolute() else sweep / run) / "config.toml").read_text())
    return [f"{k}={tomli_w.dumps({'v': _get(config, k)})[4:].strip()}" for k in keys]


def val_table(run: Path, train: Path, out: Path) -> None:
    """The validation rows a run carved from the training file (its split.npz), as a table to predict."""
    val = np.load(run / "split.npz")["val"]
    lines = train.read_text().splitlines()
    if val.max() >= len(lines) - 1:
        sys.exit(f"{run}/split.npz: validation rows past the end of {train}: not carved from it")
    out.write_text("\n".join([lines[0]] + [lines[i + 1] for i in np.sort(val)]) + "\n")


def rowwise_pearson(p: np.ndarray, o: np.ndarray) -> np.ndarray:
    p = p - p.mean(-1, keepdims=True)
    o = o - o.mean(-1, keepdims=True)
    return (p * o).sum(-1) / np.sqrt((p * p).sum(-1) * (o * o).sum(-1))


def read_predictions(run: Path, part: str = "test") -> tuple[list[str], np.ndarray, np.ndarray]:
    with open(run / f"{part}_predictions.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    genes = [r["genes"] for r in rows]
    obs = np.array([float(r["interaction"]) for r in rows])
    pred = np.array([float(r["pred_interaction"]) for r in rows])
    reported = json.loads((run / "metrics.json").read_text())[part]["interaction"]["pearson"]
    if abs(rowwise_pearson(pred, obs) - reported) > 1e-4:
        sys.exit(f"{run}: {part}_predictions.tsv gives Pearson {rowwise_pearson(pred, obs):.5f}, "
                 f"metrics.json {reported:.5f}: predictions from another model?")
    return genes, obs, pred


def _mean_sd(x: np.ndarray) -> str:
    """Mean ± sample sd (the mean alone for one value)."""
    return f"{x.mean():.3f} ± {x.std(ddof=1):.3f}" if len(x) > 1 else f"{x.mean():.3f}"


def _difference_cells(diff: float, resampled: np.ndarray) -> list[str]:
    """A family's difference from the reference, its paired 95 % bootstrap interval (the 2.5-97.5
    percentiles of the resampled differences) and the share of resamples above 0, as table cells."""
    lo, hi = np.percentile(resampled, [2.5, 97.5])
    return [f"{diff:+.3f}", f"[{lo:+.3f}, {hi:+.3f}]", f"{(resampled > 0).mean():.3f}"]


def table(out: Path, families: list[str], seeds: list[int], n_boot: int, seed: int,
          ensembles: list[str] = ()) -> str:
    """A family without every seed's test predictions is listed below the table as not run. An
    ensemble ``A+B`` is the mean of the families' raw predictions at each seed (what ``cellreg screen``
    of the runs ranks by), scored on the validation rows (each run's val_predictions.tsv) and test."""
    preds, val = {}, {}
    genes0 = obs0 = val0 = None
    missing = [f for f in families if not all((out / "runs" / f"{f}_s{s}" / "test_predictions.tsv").exists()
                                              for s in seeds)]
    if families[0] in missing:
        sys.exit(f"{out}: the reference family {families[0]!r} has no test predictions for every seed")
    families = [f for f in families if f not in missing]
    for fam in families:
        for s in seeds:
            run = out / "runs" / f"{fam}_s{s}"
            genes, obs, pred = read_predictions(run)
            if genes0 is None:
                genes0, obs0 = genes, obs
            elif genes != genes0 or not np.array_equal(obs, obs0):
                sys.exit(f"{run}: not the same test pairs as {families[0]}_s{seeds[0]}")
            carve = np.load(run / "split.npz")["val"]
            if val0 is None:
                val0 = carve
            elif not np.array_equal(carve, val0):  # e.g. the split code changed between runs
                sys.exit(f"{run}: another validation carve than {families[0]}_s{seeds[0]}: not comparable")
            preds[fam, s] = pred
            val[fam, s] = json.loads((run / "metrics.json").read_text())["val"]["interaction"]["pearson"]
    for ens in ensembles:
        members = ens.split("+")
        if any(m not in families for m in members):
            continue
        for s in seeds:
            preds[ens, s] = np.mean([preds[m, s] for m in members], axis=0)
            vals = [read_predictions(out / "runs" / f"{m}_s{s}", "val") for m in members]
            val[ens, s] = rowwise_pearson(np.mean([v[2] for v in vals], axis=0), vals[0][1])
        families = families + [ens]
    idx = np.random.default_rng(seed).integers(0, len(obs0), size=(n_boot, len(obs0)))
    boot_obs = obs0[idx]
    point = {k: rowwise_pearson(p, obs0) for k, p in preds.items()}
    boot = {k: rowwise_pearson(p[idx], boot_obs) for k, p in preds.items()}
    base = families[0]
    lines = [f"| family | val Pearson (mean ± sd) | test Pearson, seeds {', '.join(map(str, seeds))} | "
             "test mean ± sd | − baseline (mean over seeds) | paired 95% CI | resamples with difference > 0 |",
             "|---|---|---|---|---|---|---|"]
    for fam in families:
        t = np.array([point[fam, s] for s in seeds])
        v = np.array([val[fam, s] for s in seeds])
        row = [fam, _mean_sd(v), ", ".join(f"{x:.3f}" for x in t), _mean_sd(t)]
        if fam == base:
            row += ["–", "–", "–"]
        else:
            row += _difference_cells(np.mean([point[fam, s] - point[base, s] for s in seeds]),
                                     np.mean([boot[fam, s] - boot[base, s] for s in seeds], axis=0))
        lines.append("| " + " | ".join(row) + " |")
    notes = [f"\nNot run to the end (no test predictions for every seed): {', '.join(missing)}.\n"] if missing else []
    return "\n".join(lines) + "\n" + "".join(notes)


def cv(out: Path, families: list[str], folds: int, n_boot: int, seed: int, ensembles: list[str] = ()) -> str:
    """Cross-validation on the training file only (never the test file): each family's K runs
    (OUT/cv/FAMILY_fK, ``split.folds = K``, seed 0) predict their own validation fold, so every training
    pair is predicted once, out of fold. Pooled Pearson over all of them, the mean of the per-fold
    Pearsons, and the paired bootstrap of the pooled difference from the first family. The family with
    the highest pooled Pearson is the one validation selects."""
    preds, per_fold, genes0, obs0 = {}, {}, None, None
    missing = [f for f in families if not all((out / "cv" / f"{f}_f{k}" / "val_predictions.tsv").exists()
                                              for k in range(folds))]
    if families[0] in missing:
        sys.exit(f"{out}/cv: the reference family {families[0]!r} has no predictions for every fold")
    families = [f for f in families if f not in missing]
    for fam in families:
        parts = [read_predictions(out / "cv" / f"{fam}_f{k}", "val") for k in range(folds)]
        genes = [g for p in parts for g in p[0]]
        order = np.argsort(genes, kind="stable")  # pairs in one order for every family
        genes = [genes[i] for i in order]
        obs, pred = np.concatenate([p[1] for p in parts])[order], np.concatenate([p[2] for p in parts])[order]
        if genes0 is None:
            genes0, obs0 = genes, obs
        elif genes != genes0 or not np.array_equal(obs, obs0):
            sys.exit(f"{out}/cv/{fam}_f*: not the same training pairs as {families[0]}'s folds")
        preds[fam] = pred
        per_fold[fam] = np.array([rowwise_pearson(p[2], p[1]) for p in parts])
    if len(set(genes0)) != len(genes0):
        sys.exit(f"{out}/cv: a pair was predicted by two folds: the folds are not disjoint")
    for ens in ensembles:
        members = ens.split("+")
        if all(m in families for m in members):
            preds[ens] = np.mean([preds[m] for m in members], axis=0)
            per_fold[ens] = np.array([np.nan])
            families = families + [ens]
    idx = np.random.default_rng(seed).integers(0, len(obs0), size=(n_boot, len(obs0)))
    point = {f: rowwise_pearson(p, obs0) for f, p in preds.items()}
    boot = {f: rowwise_pearson(p[idx], obs0[idx]) for f, p in preds.items()}
    base, best = families[0], max(families, key=point.get)
    lines = [f"| family | out-of-fold Pearson, {len(obs0):,} training pairs | per fold (mean ± sd) | − baseline | "
             "paired 95% CI | resamples with difference > 0 |", "|---|---|---|---|---|---|"]
    for fam in families:
        name = f"**{fam}** (selected)" if fam == best else fam
        fold_text = _mean_sd(per_fold[fam]) if not np.isnan(per_fold[fam]).any() else "–"
        row = [name, f"{point[fam]:.3f}", fold_text]
        if fam == base:
            row += ["–", "–", "–"]
        else:
            row += _difference_cells(point[fam] - point[base], boot[fam] - boot[base])
        lines.append("| " + " | ".join(row) + " |")
    notes = [f"\nNo prediction for every fold: {', '.join(missing)}.\n"] if missing else []
    return "\n".join(lines) + "\n" + "".join(notes)


def joined(out: Path, families: list[str], seeds: list[int]) -> str:
    """Each family's Pearson (mean over seeds) within the pairs that any STRING channel of
    examples/real/edges joins, and within the others, on validation and on test."""
    pairs = set()
    for path in sorted((Path(__file__).resolve().parents[1] / "examples" / "real" / "edges").glob("string_*.tsv")):
        with open(path, newline="") as f:
            pairs |= {frozenset((r["gene_a"], r["gene_b"])) for r in csv.DictReader(f, delimiter="\t")}
    lines = ["| pairs | " + " | ".join(families) + " |", "|---" * (len(families) + 1) + "|"]
    for part in ("val", "test"):
        cells = {}
        for fam in families:
            for s in seeds:
                genes, obs, pred = read_predictions(out / "runs" / f"{fam}_s{s}", part)
                is_joined = np.array([frozenset(g.split("+")) in pairs for g in genes])
                for name, keep in (("not joined", ~is_joined), ("joined", is_joined)):
                    cells.setdefault((name, int(keep.sum())), {}).setdefault(fam, []).append(
                        rowwise_pearson(pred[keep], obs[keep]))
        for (name, n), by_family in cells.items():
            label = "validation" if part == "val" else "test"
            lines.append(f"| {label}, {name} ({n:,}) | " + " | ".join(f"{np.mean(by_family[f]):.3f}" for f in families) + " |")
    return "\n".join(lines) + "\n"


def write_docs(docs: Path, text: str, marker: str = "real-benchmark") -> None:
    """Replace what lies between the ``<!-- MARKER:begin -->`` and ``<!-- MARKER:end -->`` lines of
    ``docs`` (nothing else is touched)."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    page = docs.read_text()
    if begin not in page or end not in page:
        sys.exit(f"{docs}: no {begin} ... {end} markers to write the table between")
    head, rest = page.split(begin, 1)
    docs.write_text(head + begin + "\n" + text + rest[rest.index(end):])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("best-sets")
    b.add_argument("sweep", type=Path)
    b.add_argument("--defaults", type=Path, help="a run of the unswept config at the sweep's seed: kept if no trial beats it")
    m = sub.add_parser("summary")
    m.add_argument("runs", type=Path, nargs="+")
    j = sub.add_parser("joined")
    j.add_argument("out", type=Path)
    j.add_argument("families", nargs="+")
    j.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    c = sub.add_parser("carves")
    c.add_argument("out", type=Path)
    c.add_argument("families", nargs="+")
    c.add_argument("--splits", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    v = sub.add_parser("val-table")
    v.add_argument("run", type=Path)
    v.add_argument("train", type=Path)
    v.add_argument("table_out", type=Path)
    f = sub.add_parser("cv")
    f.add_argument("out", type=Path)
    f.add_argument("families", nargs="+", help="the first is the reference (the baseline)")
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--resamples", type=int, default=2000)
    f.add_argument("--bootstrap-seed", type=int, default=0)
    f.add_argument("--docs", type=Path)
    f.add_argument("--marker", default="real-benchmark-cv")
    f.add_argument("--ensemble", action="append", default=[])
    t = sub.add_parser("table")
    t.add_argument("out", type=Path)
    t.add_argument("families", nargs="+", help="the first is the reference (the baseline)")
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    t.add_argument("--resamples", type=int, default=2000)
    t.add_argument("--bootstrap-seed", type=int, default=0)
    t.add_argument("--docs", type=Path, help="write the table between the markers of this page")
    t.add_argument("--marker", default="real-benchmark", help="which markers: <!-- MARKER:begin/end -->")
    t.add_argument("--ensemble", action="append", default=[], help="A+B: the mean of these families' predictions")
    args = ap.parse_args(argv)
    if args.cmd == "summary":
        print("| run | val Pearson | test Pearson | selected epoch |\n|---|---|---|---|")
        for run in args.runs:
            m = json.loads((run / "metrics.json").read_text())
            print(f"| {run} | {m['val']['interaction']['pearson']:.3f} | {m['test']['interaction']['pearson']:.3f} "
                  f"| {m['selected_epoch']} |")
        return
    if args.cmd == "joined":
        print(joined(args.out, args.families, args.seeds), end="")
        return
    if args.cmd == "carves":
        print(f"| family | val Pearson, split seeds {', '.join(map(str, args.splits))} | mean val | "
              "test Pearson, same runs | mean test |\n|---|---|---|---|---|")
        for fam in args.families:
            ms = [json.loads((args.out / f"{fam}_ss{k}" / "metrics.json").read_text()) for k in args.splits]
            v = [m["val"]["interaction"]["pearson"] for m in ms]
            t = [m["test"]["interaction"]["pearson"] for m in ms]
            print(f"| {fam} | {', '.join(f'{x:.3f}' for x in v)} | {np.mean(v):.3f} | "
                  f"{', '.join(f'{x:.3f}' for x in t)} | {np.mean(t):.3f} |")
        return
    if args.cmd == "val-table":
        val_table(args.run, args.train, args.table_out)
        return
    if args.cmd == "best-sets":
        print("\n".join(best_sets(args.sweep, args.defaults)))
        return
    if args.cmd == "cv":
        text = cv(args.out, args.families, args.folds, args.resamples, args.bootstrap_seed, args.ensemble)
        print(text, end="")
        (args.out / "cv.md").write_text(text)
        if args.docs:
            write_docs(args.docs, text, args.marker)
        return
    text = table(args.out, args.families, args.seeds, args.resamples, args.bootstrap_seed, args.ensemble)
    print(text, end="")
    (args.out / "table.md").write_text(text)
    if args.docs:
        write_docs(args.docs, text, args.marker)


if __name__ == "__main__":
    main()
