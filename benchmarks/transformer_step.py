"""One training step of the graph-regularized transformer at yeast scale, on this machine.

6,607 genes, 9 relations (2.44 M edges, all nine tied to heads), batch 1024 strains: the time of a
full step (encoder once on the wild type, head, MSE + graph KL, backward, AdamW) as the median of
timed steps after warm-up, and the process's peak resident memory against what one B × N × N
float32 tensor would take. With ``--profile``: where the profiled steps spend their time instead
(torch profiler): the share of the fused attention kernel, forward and backward, and the top ops.
Usage: python benchmarks/transformer_step.py [--steps 5] [--batch 1024] [--profile]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import numpy as np
import torch

from cellreg.plugin_api.run_config import parse_config
from cellreg.plugin_api.registry import default_registry
from cellreg.training.pipeline import Pipeline

ATTENTION = ("aten::_scaled_dot_product_flash_attention_for_cpu",
             "aten::_scaled_dot_product_flash_attention_for_cpu_backward")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def timing(graph, model, step, args) -> dict:
    before = rss_mb()
    step()  # warm-up
    times = [step() for _ in range(args.steps)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n, b = graph.num_genes, args.batch
    return {
        "genes": n, "relations": len(graph.relations), "edges": graph.num_edges, "batch": b,
        "tied_heads": len(model.encoder.ties), "threads": torch.get_num_threads(),
        "step_seconds_median": round(statistics.median(times), 3), "step_seconds_all": [round(t, 3) for t in times],
        "strains_per_second": round(b / statistics.median(times), 1),
        "rss_before_mb": round(before), "peak_rss_mb": round(peak),
        "one_BxNxN_float32_mb": round(b * n * n * 4 / 2**20),
        "one_NxN_float32_mb": round(n * n * 4 / 2**20),
    }


def profiled(step, args) -> dict:
    from torch.profiler import ProfilerActivity, profile

    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        wall_us = sum(step() for _ in range(args.steps)) * 1e6
    events = prof.key_averages()
    attention_us = sum(e.cpu_time_total for e in events if e.key in ATTENTION)
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    return {
        "threads": torch.get_num_threads(), "torch": torch.__version__, "steps": args.steps, "batch": args.batch,
        "profiled_s_per_step": round(wall_us / args.steps / 1e6, 3),
        "attention_share": round(attention_us / wall_us, 3),
        "attention_ops_found": sorted(e.key for e in events if e.key in ATTENTION),
        "top_self_cpu": [{"op": e.key, "share": round(e.self_cpu_time_total / wall_us, 3)} for e in top],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--profile", action="store_true", help="profile the steps instead of timing them")
    args = ap.parse_args()
    torch.manual_seed(0)
    raw = {"graph": {"name": "synthetic", "preset": "yeast"},
           "phenotypes": {"name": "synthetic", "doubles": 20_000, "triples": 20_000, "singles": False},
           "model": {"encoder": {"name": "transformer", "dim": args.dim, "layers": args.layers, "heads": args.heads},
                     "head": {"name": "cross_attention"}},
           "loss": [{"name": "mse"}, {"name": "graph_kl", "weight": 0.1}]}
    registry = default_registry()
    pipe = Pipeline(parse_config(raw, registry=registry), registry)
    graph, table, model, collate = pipe.graph, pipe.data.table, pipe.model, pipe.collate
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)

    def step() -> float:
        batch = collate(rng.choice(len(table), args.batch, replace=False))
        start = time.perf_counter()
        out = model(batch)
        out["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    print(json.dumps(profiled(step, args) if args.profile else timing(graph, model, step, args), indent=2))


if __name__ == "__main__":
    main()
