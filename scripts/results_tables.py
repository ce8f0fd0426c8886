"""The tables of docs/results.md, from the run folders scripts/results.sh wrote.

    python scripts/results_tables.py runs/results [--threads 1]

Prints markdown, one block per section whose runs exist; each block names the script section,
the torch build and the thread count (read back from each run's resolved config.toml).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tomllib
from pathlib import Path

SEEDS = (0, 1, 2)


def load(runs: Path, name: str) -> dict | None:
    d = runs / name
    if not (d / "metrics.json").exists():
        return None
    metrics = json.loads((d / "metrics.json").read_text())
    config = tomllib.loads((d / "config.toml").read_text())
    history = [json.loads(line) for line in (d / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return {"metrics": metrics, "config": config, "history": history}


def pearson(run: dict | None, label: str = "interaction") -> float | None:
    return run["metrics"]["test"][label]["pearson"] if run else None


def row(title: str, values: list[float | None]) -> str:
    cells = [f"{v:.3f}" if v is not None else "" for v in values]
    done = [v for v in values if v is not None]
    summary = f"{statistics.mean(done):.3f} ± {statistics.stdev(done):.3f}" if len(done) > 1 else ""
    return f"| {title} | " + " | ".join(cells) + f" | {summary} |"


def header(section: str, threads: set, torch_version: str) -> str:
    t = ", ".join(str(x) for x in sorted(threads)) or "?"
    return (f"_Made by `scripts/results.sh {section}` with torch {torch_version}, "
            f"{t} thread{'s' if t != '1' else ''} per process._")


def threads_of(*runs) -> set:
    return {r["config"]["train"]["threads"] for r in runs if r}


def walls(runs: Path) -> dict[str, float]:
    path = runs / "wall.tsv"
    if not path.exists():
        return {}
    return {k: float(v) for k, v in (line.split("\t") for line in path.read_text().splitlines() if line)}


def fmt_range(values: list[float], unit: str = "", digits: int = 1) -> str:
    values = sorted(values)
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:,.{digits}f}{unit}"
    return f"{values[0]:,.{digits}f}–{values[-1]:,.{digits}f}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=Path)
    ap.add_argument("--threads", default="1", help="what the script was asked for (each run's config is read back)")
    args = ap.parse_args()
    import torch

    tv, runs, wall = torch.__version__, args.runs, walls(args.runs)
    out: list[str] = []

    # -- baseline ----------------------------------------------------------------------------------------
    base = {(enc, s): load(runs, f"b_{enc}_s{s}") for enc in ("gene_embedding", "neighbour_mean") for s in SEEDS}
    if any(base.values()):
        out += ["## baseline", "", header("baseline", threads_of(*base.values()), tv), "",
                "| encoder (head `sum_mlp`) | seed 0 | seed 1 | seed 2 | mean ± sd |", "| --- | --- | --- | --- | --- |",
                row("`gene_embedding` (graph-blind baseline)", [pearson(base["gene_embedding", s]) for s in SEEDS]),
                row("`neighbour_mean` (example plugin, reads the graph)", [pearson(base["neighbour_mean", s]) for s in SEEDS]),
                ""]
        ge = [f"b_gene_embedding_s{s}" for s in SEEDS]
        out.append(f"gene_embedding wall s: {', '.join(f'{wall[n]:.2f}' for n in ge if n in wall)}; "
                   f"strains/s in training: {fmt_range([base['gene_embedding', s]['metrics']['strains_per_second'] for s in SEEDS if base['gene_embedding', s]], digits=0)}; "
                   f"selected epochs: {[base['gene_embedding', s]['metrics']['selected_epoch'] for s in SEEDS if base['gene_embedding', s]]}")
        out.append(f"neighbour_mean selected epochs: {[base['neighbour_mean', s]['metrics']['selected_epoch'] for s in SEEDS if base['neighbour_mean', s]]}")
        out.append("")

    # -- transformer --------------------------------------------------------------------------------------
    tr = {(w, s): load(runs, f"t_w{w}_s{s}") for w in ("0.1", "0.0") for s in SEEDS}
    if any(tr.values()):
        out += ["## transformer", "", header("transformer", threads_of(*tr.values()), tv), "",
                "| graph_kl weight | seed 0 | seed 1 | seed 2 | mean ± sd |", "| --- | --- | --- | --- | --- |",
                row("0.1 (the example)", [pearson(tr["0.1", s]) for s in SEEDS]),
                row("0 (no graph prior)", [pearson(tr["0.0", s]) for s in SEEDS])]
        if any(base.values()):
            out.append(row("baseline `gene_embedding` + `sum_mlp`", [pearson(base["gene_embedding", s]) for s in SEEDS]))
        out.append("")
        for (w, s), r in tr.items():
            if r:
                m = r["metrics"]
                out.append(f"t_w{w}_s{s}: wall {wall.get(f't_w{w}_s{s}', float('nan')):.1f} s, train {m['train_seconds']:.1f} s, "
                           f"{m['strains_per_second']:,.0f} strains/s, {m['epochs']} epochs, selected epoch {m['selected_epoch']}, "
                           f"test interaction {pearson(r):.6f}, fitness {pearson(r, 'fitness'):.6f}")
        ex = tr["0.1", 0]
        if ex:
            heads = [h for h in ex["history"] if "graph_heads" in h]
            names = list(heads[0]["graph_heads"]) if heads else []
            if names:
                out += ["", "precision@10 of the tied heads, t_w0.1_s0 (`graph_heads` in metrics.jsonl):", "",
                        "| epoch | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
                last = heads[-1]["epoch"]
                for h in heads:
                    if h["epoch"] in (1, 3, last):
                        out.append(f"| {h['epoch']} | " + " | ".join(f"{h['graph_heads'][n]['precision@10']:.3f}" for n in names) + " |")
                out.append(f"random@10: {sorted({round(h['graph_heads'][n]['random@10'], 3) for h in heads for n in names})}")
        out.append("")

    # -- step ---------------------------------------------------------------------------------------------
    step, prof = runs / "transformer_step.json", runs / "transformer_profile.json"
    if step.exists():
        s = json.loads(step.read_text())
        out += ["## step", "", f"_Made by `scripts/results.sh step` with torch {tv}, {s['threads']} thread(s)._", "",
                "```json", json.dumps(s, indent=2), "```"]
        if prof.exists():
            p = json.loads(prof.read_text())
            out += ["", f"profile: {p['attention_share']:.1%} of a profiled step in fused attention "
                        f"(forward and backward; {p['profiled_s_per_step']} s per profiled step, {p['threads']} thread(s))"]
        out.append("")

    # -- dango --------------------------------------------------------------------------------------------
    dg = {s: load(runs, f"d_s{s}") for s in SEEDS}
    nopre = load(runs, "d_nopre_s0")
    if any(dg.values()) or nopre:
        out += ["## dango", "", header("dango", threads_of(*dg.values(), nopre), tv), "",
                "| model | seed 0 | seed 1 | seed 2 | mean ± sd |", "| --- | --- | --- | --- | --- |",
                row("DANGO", [pearson(dg[s]) for s in SEEDS])]
        if nopre:
            out.append(f"| DANGO without pretraining (seed 0) | {pearson(nopre):.3f} | | | |")
        names = [f"d_s{s}" for s in SEEDS] + ["d_nopre_s0"]
        out += ["", f"wall s: {', '.join(f'{n} {wall[n]:.0f}' for n in names if n in wall)}; selected epochs: "
                    f"{ {n: load(runs, n)['metrics']['selected_epoch'] for n in names if load(runs, n)} }", ""]

    # -- compare ------------------------------------------------------------------------------------------
    compare = Path("docs/compare_seed0/compare.md")
    names = ["label_mean", "b_gene_embedding_s0", "t_w0.1_s0", "d_s0", "hetero_cell"]
    cruns = [load(runs, n) for n in names]
    if all(cruns) and compare.exists():
        out += ["## compare", "", header("compare", threads_of(*cruns), tv), "", compare.read_text().strip(), "",
                "wall s: " + ", ".join(f"{n} {wall[n]:.0f}" for n in names if n in wall), ""]

    if not out:
        sys.exit(f"no runs under {runs}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
