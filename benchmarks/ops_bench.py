"""Perturbation ops and HeteroCell training throughput, at yeast scale, in one run, as ratios.

    python benchmarks/ops_bench.py            # synthetic yeast: 6,607 genes, 9 relations, ~2.4 M edges
    python benchmarks/ops_bench.py --small    # 1,000 genes, 3 relations: a quick check

1. Per-strain time to apply a perturbation (strains of 2-3 deleted genes): ``lazy_mask`` (dead lists
   from the incidence cache), ``explicit`` (a relabelled PyG copy per strain, batched), PyG's
   ``torch_geometric.utils.subgraph`` on every relation (the bare library call, no batching), and
   ``khop`` for k = 1, 2.
2. HeteroCell training strains/s with each op: collate + forward + backward + AdamW step, batches
   made in the main process as the trainer does with ``num_workers = 0``.

Timings are medians over repeats after a warm-up; ratios are against ``lazy_mask``. Prints a
Markdown table (the one in docs/heterocell.md) and writes JSON with ``--out``. On a shared,
oversubscribed machine use ``--threads 1``: a 2-thread parallel region stalls whenever one of its
threads is descheduled, which turns sub-millisecond ops into 100 ms ones.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time

import numpy as np
import torch
from torch_geometric.utils import subgraph

from cellreg import CellGraph, Context, PhenotypeTable
from cellreg_heterocell.encoder import HeteroCellConfig, HeteroCellEncoder
from cellreg_heterocell.head import DifferenceHead, DifferenceHeadConfig
from cellreg_losses.mse import MSELoss
from cellreg_ops.explicit_op import ExplicitSubgraphOp
from cellreg_ops.khop_op import KHopConfig, KHopOp
from cellreg_ops.lazy_op import LazyMaskOp
from cellreg_synthetic.graph import SyntheticGraphConfig, build_graph


def random_strains(graph: CellGraph, count: int, seed: int) -> PhenotypeTable:
    rng = np.random.default_rng(seed)
    sets = [rng.choice(graph.num_genes, size=rng.integers(2, 4), replace=False) for _ in range(count)]
    return PhenotypeTable.from_sets(sets, rng.standard_normal((count, 1)), ["y"], graph.genes)


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pyg_subgraph(graph: CellGraph, table: PhenotypeTable, rows: np.ndarray) -> None:
    """The bare library call: for each strain, ``subgraph`` on every relation (relabelled)."""
    for s in rows:
        keep = torch.ones(graph.num_genes, dtype=torch.bool)
        keep[torch.from_numpy(table.strain(s)[0].astype(np.int64))] = False
        for rel in graph.relations.values():
            subgraph(keep, rel.edge_index, rel.weight, relabel_nodes=True, num_nodes=graph.num_genes)


def apply_times(graph: CellGraph, table: PhenotypeTable, args) -> dict:
    out = {}
    ops = {"lazy_mask": (LazyMaskOp, args.lazy_batch), "explicit": (ExplicitSubgraphOp, args.slow_batch),
           "khop k=1": (lambda g: KHopOp(g, KHopConfig(k=1)), args.slow_batch),
           "khop k=2": (lambda g: KHopOp(g, KHopConfig(k=2)), args.slow_batch)}
    for name, (make, batch) in ops.items():
        start = time.perf_counter()
        op = make(graph)  # an op builds its caches when constructed
        prepare = time.perf_counter() - start
        rows = np.arange(batch)
        seconds = median_time(lambda: op.collate(table, rows), args.repeats)
        sample = op.collate(table, rows)
        nbytes = sum(v.numel() * v.element_size() for v in sample.values())
        out[name] = {"prepare_s": prepare, "per_strain_s": seconds / batch, "batch": batch,
                     "bytes_per_strain": nbytes / batch}
        print(f"  apply {name:<10} {1e3 * seconds / batch:10.3f} ms/strain  ({nbytes / batch / 1e6:.3f} MB/strain)",
              flush=True)
    rows = np.arange(args.slow_batch)
    seconds = median_time(lambda: pyg_subgraph(graph, table, rows), args.repeats)
    out["pyg subgraph"] = {"per_strain_s": seconds / args.slow_batch, "batch": args.slow_batch}
    print(f"  apply pyg subgraph {1e3 * seconds / args.slow_batch:10.3f} ms/strain", flush=True)
    return out


def train_throughput(graph: CellGraph, table: PhenotypeTable, args) -> dict:
    out = {}
    ops = {"lazy_mask": (LazyMaskOp(graph), args.train_batch),
           "explicit": (ExplicitSubgraphOp(graph), args.slow_train_batch),
           "khop k=1": (KHopOp(graph, KHopConfig(k=1)), args.slow_train_batch),
           "khop k=2": (KHopOp(graph, KHopConfig(k=2)), args.slow_train_batch)}
    targets = torch.tensor(table.labels)
    for name, (op, batch) in ops.items():
        torch.manual_seed(0)
        encoder = HeteroCellEncoder(HeteroCellConfig(dim=args.dim, layers=args.layers), Context(graph=graph))
        context = Context(graph=graph, label_names=("y",), encoder=encoder)
        head = DifferenceHead(DifferenceHeadConfig(hidden=32), context)
        model = torch.nn.ModuleList([encoder, head])
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        step_no = [0]

        def step():
            rows = (np.arange(batch) + step_no[0] * batch) % table.num_strains
            step_no[0] += 1
            b = op.collate(table, rows)
            pred = head(encoder(b), b).values
            loss = MSELoss()(pred, targets[rows])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        seconds = median_time(step, args.train_steps)
        out[name] = {"strains_per_s": batch / seconds, "batch": batch, "step_s": seconds}
        print(f"  train {name:<10} {batch / seconds:10.2f} strains/s  (batch {batch}, {seconds:.2f} s/step)",
              flush=True)
        del model, optimizer
        gc.collect()
    return out


def table_markdown(graph: CellGraph, apply: dict, train: dict, args) -> str:
    lazy_apply = apply["lazy_mask"]["per_strain_s"]
    lazy_train = train["lazy_mask"]["strains_per_s"]
    lines = [f"{graph.num_genes:,} genes, {len(graph.relations)} relations, {graph.num_edges:,} edges; "
             f"HeteroCell dim {args.dim}, {args.layers} layers; {torch.get_num_threads()} threads",
             "", "| op | apply, ms/strain | apply vs lazy | batch bytes/strain | train strains/s (batch) | "
                 "train vs lazy |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in ("lazy_mask", "explicit", "pyg subgraph", "khop k=1", "khop k=2"):
        a = apply[name]
        t = train.get(name)
        mb = f"{a['bytes_per_strain'] / 1e3:,.1f} kB" if "bytes_per_strain" in a else "–"
        train_cell = f"{t['strains_per_s']:.2f} ({t['batch']})" if t else "–"
        train_ratio = f"{t['strains_per_s'] / lazy_train:.3f}×" if t else "–"
        lines.append(f"| `{name}` | {1e3 * a['per_strain_s']:.3f} | {a['per_strain_s'] / lazy_apply:,.0f}× slower | "
                     f"{mb} | {train_cell} | {train_ratio} |" if name != "lazy_mask" else
                     f"| `{name}` | {1e3 * a['per_strain_s']:.3f} | 1× | {mb} | {train_cell} | 1× |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="1,000-gene organism instead of yeast scale")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--lazy-batch", type=int, default=256, help="strains per lazy_mask collate")
    p.add_argument("--slow-batch", type=int, default=4, help="strains per explicit / k-hop / PyG collate")
    p.add_argument("--train-batch", type=int, default=32, help="strains per training step, lazy_mask")
    p.add_argument("--slow-train-batch", type=int, default=4, help="strains per training step, other ops")
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    config = SyntheticGraphConfig(genes=1000) if args.small else SyntheticGraphConfig(preset="yeast")
    graph = build_graph(config, seed=0)
    print(f"graph built in {time.perf_counter() - start:.1f} s: {graph.summary().splitlines()[0]}", flush=True)
    table = random_strains(graph, 4096, seed=1)
    apply = apply_times(graph, table, args)
    train = train_throughput(graph, table, args)
    report = {"graph": {"genes": graph.num_genes, "relations": len(graph.relations), "edges": graph.num_edges},
              "apply": apply, "train": train, "args": vars(args), "torch": torch.__version__,
              "threads": torch.get_num_threads(), "machine": platform.machine()}
    print()
    print(table_markdown(graph, apply, train, args))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
