"""The ``cellreg`` command: run, validate, predict, compare, sweep, bench, plugins."""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from cellreg.config import ConfigError, to_toml
from cellreg.toolkit.process_memory import tune_process_memory
from cellreg.plugin_api.registry import LOAD_ENV, PluginError, default_registry
from cellreg.plugin_api.run_config import load_config
from cellreg.commands.screen_args import add_screen_parser
from cellreg.commands.data import add_data_parser


def _relaunch(n: int, argv: list[str]) -> int:
    """Start ``n`` processes of this same command through torchrun (gloo on CPU, NCCL on GPUs)."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus and n > gpus:  # each process takes one GPU; more would fail later with an invalid device
        raise ConfigError("--num-processes", [f"{n} processes need {n} GPUs, one each; this machine has {gpus}"])
    rest, skip = [], False
    for a in argv:  # drop --num-processes and its value
        if skip:
            skip = False
        elif a == "--num-processes":
            skip = True
        elif not a.startswith("--num-processes="):
            rest.append(a)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
           "-m", "cellreg.commands.cli", *rest]
    return subprocess.call(cmd)


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def _cmd_run(args) -> int:
    from cellreg.training.trainer import run

    if args.num_processes > 1 and "LOCAL_RANK" not in os.environ:
        return _relaunch(args.num_processes, args.argv)

    if args.resume:
        if args.config or args.set:
            raise ConfigError("--resume", ["give only the run directory; its config.toml is the config"])
        out = args.resume
    else:
        if not args.config:
            raise ConfigError("run", ["give a CONFIG file, or --resume RUN_DIR"])
        out = args.out or str(Path("runs") / _run_folder(load_config(args.config, args.set).name, args.config))
    with logging_redirect_tqdm():  # epoch lines print above the progress bar, not through it
        report = run(args.config, out, args.set, resume=bool(args.resume))
    if _is_main_process():
        print(format_report(report, out))
    _leave_process_group()
    return 0


def _leave_process_group() -> None:
    """A rank of a multi-process run leaves the process group before it exits: left to interpreter
    shutdown, gloo's threads were once torn down mid-use on one rank (``terminate called without an
    active exception``, SIGABRT), failing a run whose report was already written."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _run_folder(name: str, config_path: str) -> str:
    """The default run folder: the config's ``name`` (one path part), else its file name."""
    safe = "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name.strip()).strip(".")
    return safe or Path(config_path).stem


def format_report(report: dict, out: str) -> str:
    from cellreg.training.group_report import Row, group_tables
    from cellreg.training.rundir import RunDir

    groups = RunDir(Path(out)).read_info().groups()
    rows = [Row((split,), g, report[split][g.name]) for split in ("val", "test") for g in groups]
    return "\n".join([f"run directory: {out}",
                      f"selected epoch {report['selected_epoch']} by {report['select']}; "
                      f"{report['strains_per_second']} strains/s in training", "", group_tables(rows, ("split",))])


def _checked(args):
    """The config and its phenotype source, once the config passes ``validate``'s checks (no torch)."""
    from cellreg.plugin_api.sources import Context
    from cellreg.training.preflight import preflight

    registry = default_registry()
    config = load_config(args.config, args.set, registry=registry)
    context = Context(seed=config.seed, base_dir=Path(args.config).resolve().parent, registry=registry)
    graph, phenotypes = (registry.build(kind, choice.name, choice.config, context)
                         for kind, choice in (("graph", config.graph), ("phenotypes", config.phenotypes)))
    features = {f"features[{i}]": registry.build("features", t.name, t.config, context)
                for i, t in enumerate(config.features)}
    preflight(config, graph, phenotypes, str(args.config), features, context.base_dir, registry)
    return config, phenotypes


def _cmd_validate(args) -> int:
    config, _ = _checked(args)
    print(f"# {args.config}: valid (its data files exist and its labels match). Resolved config:")
    print(to_toml(config))
    return 0


def _cmd_inspect(args) -> int:
    # a valid config's table is read while torch is imported and the graph built. The checks run
    # twice (here without torch, then in the pipeline, which imports it): they read headers only
    try:
        _, phenotypes = _checked(args)
    except Exception:  # noqa: BLE001 - inspect runs the same checks next, and reports what failed in full
        phenotypes = None
    if phenotypes is not None:
        phenotypes.read_ahead()
    from cellreg.commands.inspect import inspect

    logging.getLogger("cellreg").setLevel(logging.WARNING)  # the report says what the info lines would
    print(inspect(args.config, args.set), end="")
    return 0


def _cmd_plugins(args) -> int:
    registry = default_registry()
    rows = [{"kind": r.plugin.kind, "name": r.plugin.name, "distribution": r.source.distribution,
             "version": r.source.version, "entry_point": r.source.entry_point,
             "description": r.plugin.description, "default": r.plugin.default} for r in registry.entries()]
    broken = [{"entry_point": b.source.entry_point, "distribution": b.source.distribution, "error": b.error}
              for b in registry.broken]
    broken += [{"entry_point": r.source.entry_point, "distribution": r.source.distribution,
                "error": f"{r.plugin.kind} {r.plugin.name!r}: factory {r.plugin.factory!r}: {why}"}
               for r, why in registry.unimportable()]
    clashes = [{"kind": kind, "name": regs[0].plugin.name,
                "providers": [f"{r.source.distribution} ({r.source.entry_point})" for r in regs]}
               for (kind, _), regs in registry.clashes.items()]
    if args.json:
        print(json.dumps({"plugins": rows, "broken": broken, "clashes": clashes}, indent=2))
        return 0
    width = max((len(r["name"]) for r in rows), default=4)
    for r in rows:
        print(f"{r['kind']:<13} {r['name']:<{width}}  {r['distribution']} {r['version']:<8} {r['description']}")
    for b in broken:
        print(f"BROKEN  {b['entry_point']} ({b['distribution']}): {b['error']}")
    for c in clashes:
        print(f"CLASH   {c['kind']} {c['name']!r} is provided by {' and by '.join(c['providers'])}: configs naming "
              f"it fail until one is uninstalled or {LOAD_ENV} picks one")
    return 0


def _cmd_predict(args) -> int:
    from cellreg.commands.predict import predict

    out = predict(args.run_dir, args.table, args.out, genes_column=args.genes_column, separator=args.separator,
                  gene_columns=args.gene_columns,
                  kinds_column=args.kinds_column, added_features=args.added_features, explain=args.explain,
                  top=args.top, weights=args.weights, overwrite=args.overwrite)
    print(f"predictions written to {out}")
    return 0


def _cmd_compare(args) -> int:
    from cellreg.commands.compare import compare

    print(compare(args.run_dirs, args.out))
    if args.out:
        print(f"\nwritten: {args.out}/compare.md, {args.out}/compare.png")
    return 0


def _cmd_sweep(args) -> int:
    from cellreg.commands.sweep import Options, sweep

    options = Options(trials=args.trials, storage=args.storage, study=args.study, sampler=args.sampler,
                      pruner=args.pruner, pruner_startup=args.pruner_startup, seed=args.seed,
                      same_seed=args.same_seed, overrides=tuple(args.set))
    with logging_redirect_tqdm():
        print(sweep(args.configs, args.space, args.out, options))
    return 0


def _cmd_bench(args) -> int:
    from cellreg.commands.bench import chart, markdown, run_bench

    report = run_bench(args.suite, genes=args.genes, batch=args.batch, budget_gb=args.memory_gb,
                       max_step_s=args.max_step_s, window_s=args.window_s, methods=args.methods or None,
                       threads=args.threads)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(markdown(report))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
        (out / "bench.md").write_text(markdown(report) + "\n")
        chart(report, out / "bench.png")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cellreg", description=__doc__)
    p.add_argument("--debug", action="store_true",
                   help="show the full traceback of an error (also: environment variable CELLREG_DEBUG=1)")
    p.set_defaults(quick_exit=False)  # True for a command that starts no process and holds no tracker
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train a model from a TOML config")
    r.add_argument("config", nargs="?", help="TOML run config")
    r.add_argument("--out", help="run directory (default runs/<config name>)")
    r.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run from its last checkpoint")
    r.add_argument("--num-processes", type=int, default=1, metavar="N",
                   help="train data-parallel in N processes on this machine (torchrun; one per GPU, or gloo on CPU)")
    r.set_defaults(func=_cmd_run)
    v = sub.add_parser("validate", help="check a config and print it with every default filled in")
    v.add_argument("config")
    v.set_defaults(func=_cmd_validate, quick_exit=True)
    ins = sub.add_parser("inspect", help="load a config's graph, features, table and split, train nothing, and "
                                         "print what was loaded")
    ins.add_argument("config")
    ins.set_defaults(func=_cmd_inspect, quick_exit=True)
    for s in (r, v, ins):
        s.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                       help="override one config value (TOML syntax; repeatable)")
    pr = sub.add_parser("predict", help="score a perturbation table with a trained run (raw label units)")
    pr.add_argument("run_dir")
    pr.add_argument("--table", required=True, help="tab/comma-separated file with a header and a genes column")
    pr.add_argument("--out", help="output TSV (default: TABLE.predictions.tsv)")
    pr.add_argument("--genes-column", default="genes", help="column holding the genes, joined by --separator")
    pr.add_argument("--gene-columns", nargs="+", metavar="COLUMN",
                    help="several columns holding the genes (e.g. a query and an array column), as a table source "
                         "reads them; instead of --genes-column")
    pr.add_argument("--separator", default="+")
    pr.add_argument("--kinds-column", help="column of perturbation types (deletion, knockdown, overexpression, "
                    "addition), joined like the genes; default: all deletions")
    pr.add_argument("--added-features", help="features of the genes marked addition, in any [[features]] file format (docs/features.md)")
    pr.add_argument("--explain", action="store_true", help="add the genes each attention weighs most")
    pr.add_argument("--top", type=int, default=10, help="genes listed per explanation")
    pr.add_argument("--weights", choices=["best", "last"], default="best")
    pr.add_argument("--overwrite", action="store_true", help="replace an existing --out file (never the table)")
    pr.set_defaults(func=_cmd_predict)
    cp = sub.add_parser("compare", help="test metrics of runs on the same data and split, side by side")
    cp.add_argument("run_dirs", nargs="+")
    cp.add_argument("--out", help="folder for compare.md and compare.png")
    cp.set_defaults(func=_cmd_compare)
    add_screen_parser(sub)
    add_data_parser(sub)
    b = sub.add_parser("bench", help="training throughput of every model family and operator")
    b.add_argument("--genes", type=int, default=6607, help="organism size (6607 = yeast scale, 9 relations)")
    b.add_argument("--small", dest="genes", action="store_const", const=1000, help="a 1,000-gene organism")
    b.add_argument("--batch", type=int, default=8, help="the common batch size")
    b.add_argument("--threads", type=int, default=1, help="torch CPU threads per worker (default 1, as "
                   "train.threads and as docs/benchmarks.md was made; 0: torch's default, one per core)")
    b.add_argument("--memory-gb", type=float, default=8.0, help="memory budget for each method's largest batch")
    b.add_argument("--max-step-s", type=float, default=10.0, help="cap on one step's time at the largest batch")
    b.add_argument("--window-s", type=float, default=2.0, help="length of each timed window")
    b.add_argument("--methods", nargs="*", help="subset of the suite's methods")
    b.add_argument("--suite", help="TOML file of methods (default: the bundled suite)")
    b.add_argument("--json", action="store_true")
    b.add_argument("--out", help="folder for bench.json, bench.md and bench.png")
    b.set_defaults(func=_cmd_bench)
    sw = sub.add_parser("sweep", help="tune configs with Optuna; several get the same budget, winners compared on test")
    sw.add_argument("configs", nargs="+", metavar="CONFIG")
    sw.add_argument("--space", action="append", required=True, metavar="SPACE.toml",
                    help="search space ([[param]] tables); once for all configs, or once per config in order")
    sw.add_argument("--trials", type=int, required=True, metavar="N",
                    help="trials in each study in all: a resumed or shared study runs only what it lacks")
    sw.add_argument("--storage", help="an Optuna journal file (a path; default OUT/study.journal) or an RDB URL "
                    "(sqlite:///sweep.db, postgresql://user@host/db) shared by every worker")
    sw.add_argument("--study", help="study name (default: the config's name)")
    sw.add_argument("--out", help="the sweep's folder (default sweeps/<name>; several configs: OUT/<name> each)")
    sw.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    sw.add_argument("--pruner", choices=["median", "hyperband", "off"], default="median",
                    help="stops trials whose validation metric lags, epoch by epoch (default median)")
    sw.add_argument("--pruner-startup", type=int, default=2, metavar="K",
                    help="median pruner: trials that finish before any is pruned (default 2)")
    sw.add_argument("--seed", type=int, help="the sweep's seed, from which each trial's is derived "
                    "(default: the config's)")
    sw.add_argument("--same-seed", action="store_true", help="every trial trains with the sweep's seed itself")
    sw.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override one value of every config, for every trial (repeatable)")
    sw.set_defaults(func=_cmd_sweep)
    pl = sub.add_parser("plugins", help="list installed plugins")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=_cmd_plugins, quick_exit=True)
    return p


def main(argv: list[str] | None = None, leave: bool = False) -> int:
    """The command's exit status. ``leave`` (the ``cellreg`` program itself, never a library caller):
    a command that starts no process and holds no tracker (``quick_exit``) ends the process here
    (:func:`_quick_exit`)."""
    # torch >= 2.14 deprecates torch.jit.script, which torch_geometric calls on import: not the user's concern
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated", category=DeprecationWarning)
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.INFO if _is_main_process() else logging.WARNING, format="%(message)s")
    tune_process_memory()  # this process owns its allocation policy; a library caller keeps its own
    debug = args.debug or os.environ.get("CELLREG_DEBUG", "") not in ("", "0")
    try:
        code = args.func(args)
        if leave and args.quick_exit:
            _quick_exit(code)
        return code
    except (ConfigError, PluginError) as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped reading (`cellreg plugins | head -1`): end quietly, as head's
        _quiet_stdout()  # writers do; the interpreter's last flush must not fail again
        return 1
    except (ValueError, OSError) as exc:  # bad data (a file's line and column) or a missing/unreadable file
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _quiet_stdout() -> None:
    """Send what is left for standard output to the null device (Python's own advice for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # a stdout without a file (a library caller's capture)
        pass


def _quick_exit(code: int) -> None:
    """End the process once its output is out and its cache entries written, without the
    interpreter's teardown: torch's alone takes a quarter of a second, and freeing a 20 M-row table's
    arrays one by one more (``cellreg inspect`` of a 20 M-row table: docs/benchmarks.md)."""
    from cellreg.toolkit import table_cache

    table_cache.written()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def entry() -> None:
    """The ``cellreg`` program."""
    sys.exit(main(leave=True))


if __name__ == "__main__":
    entry()
