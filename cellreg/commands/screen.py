"""Rank every candidate strain design with one or more trained runs: ``cellreg screen``.

Designs are all sets of the given sizes drawn from candidate genes (or an explicit table), never
listed: each batch unranks its slice (:mod:`cellreg.screen.designs`). Each run scores them in raw
label units through its own pipeline (:mod:`cellreg.screen.scorer`: a wild-type encoder runs once,
then only the head per batch); an objective over the labels combines the runs per design
(:mod:`cellreg.screen.objective`), and a bounded buffer keeps the best K (:mod:`cellreg.screen.topk`).

Under a launcher (``--num-processes N``, torchrun, Accelerate, several nodes) process ``r`` of
``w`` scores batches ``r, r + w, …`` (the very batches one process would score, so the numbers
are bit-identical) and the K best are merged on the main process, which alone writes.

Agreement across runs: for each kept design, the fraction of runs that place it in their own
top K (each run's K-th best objective over all designs is tracked in a K-sized buffer per run);
the summary adds the mean pairwise Spearman correlation of the runs' objectives over the kept designs.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from cellreg.data.environment_schema import parse_assignments
from cellreg.config import ConfigError
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_api.contracts import StrainColumns
from cellreg.plugin_api.registry import Registry
from cellreg.screen.designs import Designs, DesignSpace, TableDesigns
from cellreg.screen.unseen import check_unseen
from cellreg.training.coverage import Coverage
from cellreg.screen.objective import combine, parse_objectives, run_objective, running_top
from cellreg.screen.scorer import RunScorer
from cellreg.screen.topk import TopK, merge
from cellreg.toolkit.atomic import atomic_write
from cellreg.toolkit.text_tables import suggest
from cellreg.training.trainer import apply_threads

log = logging.getLogger("cellreg")

# Designs per batch when every run's encoder is a wild-type one: a head that scores each design
# against every gene holds [B, N] products, fastest while they stay in cache (~16 MB: 512 designs
# at yeast scale, docs/benchmarks.md), and small organisms take up to 8,192 designs a batch.
BATCH_ENTRIES, BATCH_RANGE = 2**22, (256, 8192)
SAMPLE = {False: 1024, True: 16}  # designs timed for the estimate (wild-type, per-strain encoders)
PLOTTED = 100_000  # scores kept for the distribution plot, evenly spaced over all designs
KIND_NAMES = [k.name.lower() for k in Perturbation]


# -- processes --------------------------------------------------------------------------------------

def _processes() -> tuple[int, int, torch.device]:
    """(rank, world size, device) under torchrun / Accelerate (their environment), else (0, 1, …)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    gpu = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local}" if gpu else "cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if gpu else "gloo")
    return int(os.environ.get("RANK", "0")), world, device


def _gather(t: torch.Tensor, world: int) -> torch.Tensor:
    """Equal-shaped tensors of every process, concatenated (rank order)."""
    if world == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(world)]
    torch.distributed.all_gather(parts, t.contiguous())
    return torch.cat(parts)


# -- the designs ------------------------------------------------------------------------------------

def read_candidates(path: str | Path) -> list[str]:
    """Gene names separated by whitespace or commas; ``#`` starts a comment."""
    names = []
    with open(path) as f:
        for line in f:
            names += line.split("#", 1)[0].replace(",", " ").split()
    return names


def _kind(text: str, where: str) -> Perturbation:
    try:
        return Perturbation.parse(text)
    except ValueError as exc:
        raise ConfigError(where, [str(exc)]) from None


def design_space(vocabulary: Sequence[str], genes: Sequence[str], sizes: Sequence[int], kinds: Sequence[str],
                 add: Sequence[str] = (), include: Sequence[str] = (), exclude: Sequence[str] = ()) -> DesignSpace:
    """The candidate designs, every name checked against the organism's ``vocabulary`` (a name it
    lacks gets a suggestion; genes the organism never had go in ``add``)."""
    index = {g: i for i, g in enumerate(vocabulary)}
    known = list(vocabulary) + list(add)
    errors = []

    def resolve(name: str, where: str) -> int | None:
        if name in index:
            return index[name]
        if name in add:
            return len(vocabulary) + list(add).index(name)
        hint = suggest(name, known) or (" (a gene the organism never had goes in --add)" if where != "--exclude" else "")
        errors.append(f"{where}: gene {name!r} is not in the organism{hint}")
        return None

    errors += [f"--add: gene {g!r} is in the organism already; list it in --genes" for g in add if g in index]
    kinds_ = [_kind(k, "--kinds") for k in kinds]
    if Perturbation.ADDITION in kinds_:
        errors.append("--kinds: addition is the kind of the genes in --add, not of the organism's genes")
    chosen = []
    for item in include:
        name, _, kind = item.partition(":")
        g = resolve(name, "--include")
        default = "addition" if name in add else "deletion"
        chosen.append((g, _kind(kind or default, f"--include {item}")))
    dropped = {resolve(g, "--exclude") for g in exclude} | {g for g, _ in chosen}
    pool = [resolve(g, "--genes") for g in genes]
    for name in add:
        pool.append(len(vocabulary) + list(add).index(name))
    if errors:
        raise ConfigError("screen", errors)
    pool = list(dict.fromkeys(g for g in pool if g not in dropped))  # in order, once each
    organism = [g for g in pool if g < len(vocabulary)]
    added = [g for g in pool if g >= len(vocabulary)]
    for s in sizes:
        free = s - len(chosen)
        if s < 1:
            errors.append(f"--sizes {s}: a design perturbs at least one gene")
        elif free < 0:
            errors.append(f"--sizes {s}: smaller than the {len(chosen)} genes every design includes (--include)")
        elif free > len(pool):
            errors.append(f"--sizes {s}: designs of {s} genes need {free} candidates besides the included ones, "
                          f"but there are only {len(pool)} ({len(organism)} of the organism, {len(added)} added)")
    if not genes and not add and not include:
        errors.append("no candidate genes: give --genes, --genes-file, --all-genes or --add")
    if errors:
        raise ConfigError("screen", errors)
    try:
        return DesignSpace(list(vocabulary) + list(add), organism, added, kinds_, sizes, chosen)
    except ValueError as exc:
        raise ConfigError("screen", [str(exc)]) from None


# -- the screen -------------------------------------------------------------------------------------

def _run_names(run_dirs: Sequence[str | Path]) -> list[str]:
    names = [Path(r).resolve().name for r in run_dirs]
    return [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ConfigError(str(out), ["exists; pass --overwrite to replace it, or choose another --out "
                                     "(nothing was written)"])


def wildtype_batch(genes: int) -> int:
    """The power of two nearest below ``BATCH_ENTRIES / genes``, within ``BATCH_RANGE``."""
    lo, hi = BATCH_RANGE
    return int(min(hi, max(lo, 2 ** math.floor(math.log2(max(BATCH_ENTRIES / genes, 1))))))


def _eta(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


@torch.no_grad()
def screen(run_dirs: Sequence[str | Path], out: str | Path, *, objectives: Sequence[str],
           genes: Sequence[str] = (), genes_file: str | Path | None = None, all_genes: bool = False,
           sizes: Sequence[int] = (2,), kinds: Sequence[str] = ("deletion",), add: Sequence[str] = (),
           added_features: str | Path | None = None, include: Sequence[str] = (), exclude: Sequence[str] = (),
           designs: str | Path | None = None, genes_column: str = "genes", separator: str = "+",
           kinds_column: str | None = None, top: int = 100, cautious: float = 0.0, limit: int | None = None,
           batch_size: int | None = None, explain: bool = False, explain_genes: int = 5,
           plot: str | Path | None = None, weights: str = "best", threads: int | None = None,
           progress: bool = True, overwrite: bool = False, registry: Registry | None = None,
           environment: Sequence[str] = (), allow_unseen: bool = False) -> dict:
    """Score the designs with every run, keep the ``top`` best by the objective, write them to
    ``out`` (TSV) and the plot; returns a summary (also what the main process logs)."""
    out = Path(out)
    plot = Path(plot) if plot else out.with_suffix(".png")
    terms = parse_objectives(objectives)
    problems = [f"--top {top}: expected at least 1"] if top < 1 else []
    problems += [f"--limit {limit}: expected at least 1"] if limit is not None and limit < 1 else []
    problems += [f"--batch-size {batch_size}: expected at least 1"] if batch_size is not None and batch_size < 1 else []
    if problems:
        raise ConfigError("screen", problems)
    rank, world, device = _processes()
    main = rank == 0
    if main:
        for path in (out, plot):
            _check_out(path, overwrite)
    started = time.perf_counter()
    if threads is not None:
        apply_threads(threads)
    try:
        condition = parse_assignments(environment, "--environment")
    except ValueError as exc:
        raise ConfigError("screen", [str(exc)]) from None
    scorers = [RunScorer(r, registry, weights, device, condition) for r in run_dirs]
    if threads is None:  # as predict: the run's train.threads
        apply_threads(scorers[0].pipe.config.train.threads)
    names = _run_names(run_dirs)
    vocabulary = scorers[0].genes
    for s in scorers[1:]:
        if s.genes != vocabulary:
            raise ConfigError(str(s.dir.root), [f"its organism's genes differ from those of {scorers[0].dir.root}: "
                                                "runs screened together must share one gene vocabulary"])
    if main and len({s.pipe.info.graph_fingerprint for s in scorers}) > 1:
        log.warning("screen: the runs were trained on graphs that differ (relations, features or another seed of "
                    "a synthetic organism): their genes share names, but make sure they are one organism")
    objectives_ = [run_objective(terms, s.labels, str(s.dir.root), device, s.pipe.label_groups) for s in scorers]

    if designs is not None:
        if genes or genes_file or all_genes or add or include:
            raise ConfigError("--designs", ["an explicit table of designs takes no --genes, --genes-file, "
                                            "--all-genes, --add or --include"])
        table = scorers[0].pipe.read_strains(Path(designs), StrainColumns(genes_column, separator, kinds_column)).table
        if len(table) == 0:
            raise ConfigError(str(designs), ["no designs to score (only a header line, or blank rows)"])
        space: Designs = TableDesigns(table)
    else:
        candidates = list(genes) + (read_candidates(genes_file) if genes_file else [])
        if all_genes:
            candidates += list(vocabulary)
        space = design_space(vocabulary, candidates, sizes, kinds, add, include, exclude)
    unseen = check_unseen(space, [(n, Coverage.from_dict(s.pipe.info.coverage)) for n, s in zip(names, scorers)],
                          allow_unseen)
    if unseen and main:
        log.warning("screen (--allow-unseen): designs outside what training saw: %s", " | ".join(unseen))
    added = tuple(space.gene_names[len(vocabulary):])
    for s in scorers:
        s.add_genes(added, added_features, str(designs or "--add"))
    if explain and not any(s.explains for s in scorers):
        raise ConfigError("--explain", ["none of the runs' models has attention to explain"])

    per_strain = any(s.per_strain for s in scorers)
    batch = batch_size or (min(s.pipe.config.train.batch_size for s in scorers if s.per_strain) if per_strain
                           else wildtype_batch(len(space.gene_names)))
    total = len(space) if limit is None else min(limit, len(space))
    mine = space.share(batch, rank, world, limit)

    # A measured sample first (thrown away: the real batches are scored as they come).
    encoder_s = time.perf_counter()
    first = space.block(0, 1)
    for s in scorers:
        if not s.per_strain:
            s(first)  # F(G), once per run
    encoder_s = time.perf_counter() - encoder_s
    sample = space.block(0, min(total, batch, SAMPLE[per_strain]))
    tick = time.perf_counter()
    for s in scorers:
        s(sample)
    per_design = (time.perf_counter() - tick) / len(sample)
    if main:
        log.info("screen: %s designs x %d run(s), batches of %d in %d process(es); measured %s designs/s on %d "
                 "(encoders %.2f s): about %s%s", f"{total:,}", len(scorers), batch, world,
                 f"{1 / per_design:,.0f}", len(sample), encoder_s, _eta(per_design * mine),
                 "" if limit else "; --limit N scores only the first N designs")

    # The screen.
    widths = [len(s.labels) for s in scorers]
    keep = TopK(top, sum(widths) + len(scorers) + 2, device)
    per_run = torch.full((len(scorers), 0), -torch.inf, device=device)
    stride = max(1, math.ceil(total / PLOTTED))
    cap = -(-total // stride) + 1
    plotted, filled = torch.full((cap,), torch.nan, device=device), 0  # one buffer: no small tensor per batch
    bar = tqdm(total=mine, unit="design", unit_scale=True, desc="screen", disable=True if not (progress and main)
               else None, smoothing=0.1)
    scoring = time.perf_counter()
    for start, block in space.blocks(batch, rank, world, limit):
        values = [s(block) for s in scorers]  # [B, L_r] each
        objective = torch.stack([f(v) for v, f in zip(values, objectives_)])  # [R, B]
        mean, sd, score = combine(objective, cautious)
        ids = torch.arange(start, start + len(block), device=device)
        keep.push(score, ids, torch.cat(values + [objective.T, mean[:, None], sd[:, None]], dim=1))
        per_run = running_top(per_run, objective, top)
        first = (-start) % stride  # the designs whose rank is a multiple of stride
        n = len(range(first, len(block), stride))
        plotted[filled:filled + n] = score[first::stride]
        filled += n
        bar.update(len(block))
    bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    scoring = time.perf_counter() - scoring

    # Merge the processes' buffers; the main process writes.
    per_run = torch.cat([per_run, per_run.new_full((len(scorers), top - per_run.shape[1]), -torch.inf)], 1)
    score, ids, payload = merge(top, *(_gather(t, world) for t in keep.padded()))
    thresholds = _gather(per_run.T.contiguous(), world).topk(top, dim=0).values[-1]  # each run's K-th best
    every = _gather(plotted, world)
    slowest = float(_gather(torch.tensor([scoring], device=device), world).max())  # the screen's scoring time
    summary = {"designs": total, "processes": world, "runs": names, "batch": batch, "kept": len(ids),
               "seconds": round(time.perf_counter() - started, 2), "scoring_seconds": round(slowest, 2),
               "designs_per_s": round(total / slowest, 1) if slowest > 0 else math.nan,
               "designs_per_s_per_process": round(mine / scoring, 1) if scoring > 0 else math.nan}
    if not main:
        return summary
    score, ids, payload = score.cpu(), ids.cpu().numpy(), payload.cpu().numpy()
    objective = payload[:, sum(widths):sum(widths) + len(scorers)]
    agreement = (objective >= thresholds.cpu().numpy()[None, :]).mean(1)
    summary["spearman"] = _spearman(objective)
    kept = space.take(ids)
    explained = _explain(scorers, names, kept, explain_genes, batch) if explain else {}
    columns = [f"{n}.{label}" for n, s in zip(names, scorers) for label in s.labels]
    atomic_write(out, lambda tmp: _write(Path(tmp), kept, separator, columns, payload[:, :sum(widths)],
                                         payload[:, -2], payload[:, -1], agreement, score.numpy(), explained))
    every = every.cpu().numpy()
    from cellreg.screen.plot import screen_plot

    top_genes = [[kept.gene_names[g] for g in kept.strain(i)[0]] for i in range(len(kept))]
    screen_plot(every[~np.isnan(every)], total, score.numpy(), top_genes, plot,
                f"{total:,} designs, {len(names)} run(s)" + (f", mean − {cautious:g}·sd" if cautious else ""))
    summary.update(out=str(out), plot=str(plot))
    log.info("screen: %s designs in %.1f s (%s designs/s); top %d written to %s, plot %s%s",
             f"{total:,}", slowest, f"{summary['designs_per_s']:,.0f}", len(ids), out, plot,
             "" if summary["spearman"] is None else f"; runs agree: mean Spearman {summary['spearman']:.3f} over the "
             "kept designs")
    return summary


def _spearman(objective: np.ndarray) -> float | None:
    """Mean pairwise Spearman correlation of the runs' objectives over the kept designs."""
    r = objective.shape[1]
    if r < 2 or len(objective) < 3:
        return None
    from scipy import stats

    rho = stats.spearmanr(objective).statistic  # a number for 2 runs, else the R x R matrix
    return float(rho if r == 2 else rho[np.triu_indices(r, 1)].mean())


def _explain(scorers: list[RunScorer], names: list[str], kept: PhenotypeTable, k: int, batch: int) -> dict:
    """``explain_<mechanism>`` columns (``<run>.explain_<mechanism>`` with several runs)."""
    out: dict[str, list[str]] = {}
    for name, s in zip(names, scorers):
        if not s.explains:
            continue
        for start in range(0, len(kept), batch):
            part = kept.select(np.arange(start, min(start + batch, len(kept))))
            for mechanism, cells in s.explain(part, k).items():
                column = f"explain_{mechanism}" if len(scorers) == 1 else f"{name}.explain_{mechanism}"
                out.setdefault(column, []).extend(cells)
    return out


def _write(out: Path, kept: PhenotypeTable, separator: str, columns: list[str], values: np.ndarray,
           mean: np.ndarray, sd: np.ndarray, agreement: np.ndarray, score: np.ndarray, explained: dict) -> None:
    with open(out, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["genes", "kinds", *columns, "objective_mean", "objective_sd", "agreement", "score", *explained])
        for i in range(len(kept)):
            genes, kinds = kept.strain(i)
            w.writerow([separator.join(kept.gene_names[g] for g in genes), separator.join(KIND_NAMES[k] for k in kinds)]
                       + [f"{v:.9g}" for v in values[i]]
                       + [f"{mean[i]:.9g}", f"{sd[i]:.9g}", f"{agreement[i]:.4g}", f"{score[i]:.9g}"]
                       + [explained[c][i] for c in explained])
