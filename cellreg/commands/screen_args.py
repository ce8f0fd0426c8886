"""The ``cellreg screen`` subcommand's options (torch-free, so ``cellreg --help`` stays fast)."""

from __future__ import annotations

import argparse
import os

from cellreg.config import ConfigError


def add_screen_parser(sub) -> None:
    s = sub.add_parser("screen", help="rank every candidate strain design with trained runs (docs/screen.md)",
                       description="Score all designs of the given sizes from candidate genes (or a table of "
                       "designs) with one or more runs and keep the best by an objective in raw label units.")
    s.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="trained runs (seeds or families) of one organism")
    s.add_argument("--out", required=True, help="ranked TSV of the kept designs (the plot goes beside it as .png)")
    s.add_argument("--objective", action="append", required=True, metavar="LABEL:max|min[:WEIGHT]",
                   help="a label to maximise or minimise, weighted (repeatable; the terms add up)")
    g = s.add_argument_group("candidates")
    g.add_argument("--genes", nargs="+", default=[], metavar="GENE", help="candidate genes of the organism")
    g.add_argument("--genes-file", help="file of candidate genes (whitespace or comma separated; # comments)")
    g.add_argument("--all-genes", action="store_true", help="every gene of the organism is a candidate")
    g.add_argument("--sizes", nargs="+", type=int, default=[2], metavar="K", help="genes per design (default 2)")
    g.add_argument("--kinds", nargs="+", default=["deletion"], metavar="KIND",
                   help="kinds each organism gene may take: deletion, knockdown, overexpression (default deletion)")
    g.add_argument("--add", nargs="+", default=[], metavar="GENE", help="candidate genes the organism never had "
                   "(kind addition; needs an encoder that can add genes)")
    g.add_argument("--added-features", help="features of the --add genes (any [[features]] file format)")
    g.add_argument("--include", nargs="+", default=[], metavar="GENE[:KIND]", help="genes every design includes")
    g.add_argument("--exclude", nargs="+", default=[], metavar="GENE", help="genes left out of the candidates")
    g.add_argument("--designs", help="score this table of designs instead (as predict reads tables)")
    g.add_argument("--genes-column", default="genes", help="with --designs: the column of genes")
    g.add_argument("--separator", default="+", help="joins genes and kinds in --designs and in the output")
    g.add_argument("--kinds-column", help="with --designs: the column of kinds")
    g.add_argument("--allow-unseen", action="store_true", help="rank designs of set sizes or kinds the runs' "
                   "training never saw (refused otherwise: untrained parameters would rank them)")
    g.add_argument("--environment", action="append", default=[], metavar="KEY=VALUE",
                   help="the condition the designs are ranked under, one per environment column the runs read "
                        "(repeatable): temperature=26, medium=YPD, compound=rapamycin:10 (dose in the run's unit)")
    r = s.add_argument_group("ranking and output")
    r.add_argument("--top", type=int, default=100, metavar="K", help="designs kept (default 100)")
    r.add_argument("--cautious", type=float, default=0.0, metavar="C",
                   help="score = mean - C * sd of the runs' objectives (default 0: the mean)")
    r.add_argument("--explain", action="store_true", help="add the genes each attention weighs most, per top design")
    r.add_argument("--explain-genes", type=int, default=5, help="genes listed per explanation")
    r.add_argument("--plot", help="plot file (default: --out with .png)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing --out / --plot")
    x = s.add_argument_group("execution")
    x.add_argument("--limit", type=int, help="score only the first N designs")
    x.add_argument("--batch-size", type=int, help="designs per batch (default 4096 for wild-type encoders, the "
                   "run's train.batch_size for per-strain ones)")
    x.add_argument("--threads", type=int, help="torch CPU threads per process (default: the run's train.threads)")
    x.add_argument("--weights", choices=["best", "last"], default="best")
    x.add_argument("--no-progress", action="store_true", help="no progress bar")
    x.add_argument("--num-processes", type=int, default=1, metavar="N",
                   help="shard the designs over N processes on this machine (torchrun; gloo on CPU)")
    s.set_defaults(func=_cmd_screen)


def _cmd_screen(args: argparse.Namespace) -> int:
    from cellreg.commands import cli

    if args.num_processes > 1 and "LOCAL_RANK" not in os.environ:
        return cli._relaunch(args.num_processes, args.argv)
    if args.num_processes < 1:
        raise ConfigError("--num-processes", [f"{args.num_processes}: expected at least 1"])
    from tqdm.contrib.logging import logging_redirect_tqdm

    from cellreg.commands.screen import screen

    with logging_redirect_tqdm():
        screen(args.run_dirs, args.out, objectives=args.objective, genes=args.genes, genes_file=args.genes_file,
               all_genes=args.all_genes, sizes=args.sizes, kinds=args.kinds, add=args.add,
               added_features=args.added_features, include=args.include, exclude=args.exclude, designs=args.designs,
               genes_column=args.genes_column, separator=args.separator, kinds_column=args.kinds_column,
               top=args.top, cautious=args.cautious, limit=args.limit, batch_size=args.batch_size,
               explain=args.explain, explain_genes=args.explain_genes, plot=args.plot, weights=args.weights,
               threads=args.threads, progress=not args.no_progress, overwrite=args.overwrite,
               environment=args.environment, allow_unseen=args.allow_unseen)
    cli._leave_process_group()
    return 0
