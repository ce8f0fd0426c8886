"""Where one yeast-scale training step of the transformer spends its time (torch profiler).

The model, organism and batch of benchmarks/transformer_step.py (6,607 genes, 9 relations, all nine
tied to heads, dim 64, 8 heads, 2 layers, batch 1,024): one warm-up step, then --steps profiled
steps. Prints JSON: the share of the profiled time spent in the fused attention kernel (forward
and backward), and the ops that took the most time. Threads: torch's default, so set
OMP_NUM_THREADS (scripts/results.sh does). Usage: python scripts/transformer_profile.py [--steps 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from cellreg.config import parse_config
from cellreg.plugin_api.registry import default_registry
from cellreg.training.pipeline import Pipeline

ATTENTION = ("aten::_scaled_dot_product_flash_attention_for_cpu",
             "aten::_scaled_dot_product_flash_attention_for_cpu_backward")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1024)
    args = ap.parse_args()
    torch.manual_seed(0)
    raw = {"graph": {"name": "synthetic", "preset": "yeast"},
           "phenotypes": {"name": "synthetic", "doubles": 20_000, "triples": 20_000, "singles": False},
           "model": {"encoder": {"name": "transformer", "dim": 64, "layers": 2, "heads": 8},
                     "head": {"name": "cross_attention"}},
           "loss": [{"name": "mse"}, {"name": "graph_kl", "weight": 0.1}]}
    registry = default_registry()
    pipe = Pipeline(parse_config(raw, registry=registry), registry)
    table, model, collate = pipe.data.table, pipe.model, pipe.collate
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batches = [collate(rng.choice(len(table), args.batch, replace=False)) for _ in range(args.steps + 1)]

    def step(batch) -> None:
        out = model(batch)
        out["loss"].backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for batch in batches[1:]:
            step(batch)
        wall_us = (time.perf_counter() - start) * 1e6
    events = prof.key_averages()
    attention_us = sum(e.cpu_time_total for e in events if e.key in ATTENTION)
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:8]
    print(json.dumps({
        "threads": torch.get_num_threads(), "torch": torch.__version__, "steps": args.steps, "batch": args.batch,
        "profiled_s_per_step": round(wall_us / args.steps / 1e6, 3),
        "attention_share": round(attention_us / wall_us, 3),
        "attention_ops_found": sorted(e.key for e in events if e.key in ATTENTION),
        "top_self_cpu": [{"op": e.key, "share": round(e.self_cpu_time_total / wall_us, 3)} for e in top],
    }, indent=2))


if __name__ == "__main__":
    main()
