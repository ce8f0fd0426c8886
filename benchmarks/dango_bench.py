"""Training throughput of DANGO (encoder ``dango``, head ``hypersagnn``, index op) at yeast scale.

The synthetic organism's yeast preset has the real vocabulary and edge counts (6,607 genes, six
``string_*`` channels with 2.06 M of its 2.44 M edges); DANGO reads the six STRING channels. A
timed step is what the trainer does per batch in joint training: collate the batch (index op),
one forward (embeddings of every gene once, reconstruction of ``recon_rows`` sampled rows per
network, the head on the batch), backward, AdamW step. Warm-up steps are excluded; the result is
the median over timed windows, in strains per second.

    python benchmarks/dango_bench.py                       # batch 64, CPU, defaults of the plugin
    python benchmarks/dango_bench.py --batch-size 64 256 1024 --threads 2
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from cellreg.plugin_api.run_config import parse_config
from cellreg.plugin_api.registry import default_registry
from cellreg.training.pipeline import Pipeline


def run_config(args) -> dict:
    return {
        "name": "dango_bench", "seed": 0,
        "graph": {"name": "synthetic", "preset": "yeast"},
        "phenotypes": {"name": "synthetic", "doubles": args.doubles, "triples": args.triples},
        "split": {"kind": "random", "val_fraction": 0.1, "test_fraction": 0.1},
        "model": {"encoder": {"name": "dango", "dim": args.dim, "recon_rows": args.recon_rows,
                              "pretrain_epochs": 1},
                  "head": {"name": "hypersagnn"}},
        "loss": [{"name": "logcosh"}, {"name": "dango_reconstruction"}],
        "train": {"labels": ["interaction"], "progress": False},
    }


def timed_windows(step, windows: int, steps: int, sync) -> list[float]:
    seconds = []
    for _ in range(windows):
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64])
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per batch size")
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3, help="steps per timed window")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--recon-rows", type=int, default=960)
    parser.add_argument("--doubles", type=int, default=20_000)
    parser.add_argument("--triples", type=int, default=5_000)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    registry = default_registry()
    config = parse_config(run_config(args), "dango_bench", registry)
    t0 = time.perf_counter()
    pipe = Pipeline(config, registry)
    data, model = pipe.data, pipe.model.to(args.device)
    encoder = model.encoder
    encoder.on_epoch_start(1, 2)  # joint training: both objectives, every parameter trained
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    collate = pipe.collate
    rows = data.split.train
    rng = np.random.default_rng(0)
    edges = {n: data.graph.relations[n].num_edges for n in encoder.network_names}
    params = sum(p.numel() for p in model.parameters())
    print(f"setup {time.perf_counter() - t0:.1f} s: {data.graph.num_genes:,} genes; DANGO networks "
          + ", ".join(f"{n} {e:,}" for n, e in edges.items()) + f" ({sum(edges.values()):,} edges); "
          f"{params:,} parameters; dim {args.dim}, recon_rows {args.recon_rows}")
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{platform.processor() or platform.machine()}")
    print("| batch | strains/s (median) | min | max | s/step (median) |")
    print("| --- | --- | --- | --- | --- |")
    for batch_size in args.batch_size:
        def step():
            batch = collate(rng.choice(rows, batch_size, replace=False))
            batch = {k: v.to(args.device, non_blocking=True) for k, v in batch.items()}
            loss = model(batch)["loss"]
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        for _ in range(args.warmup):
            step()
        seconds = timed_windows(step, args.windows, args.steps, sync)
        rates = [args.steps * batch_size / s for s in seconds]
        print(f"| {batch_size} | {statistics.median(rates):,.0f} | {min(rates):,.0f} | {max(rates):,.0f} | "
              f"{statistics.median(seconds) / args.steps:.3f} |", flush=True)


if __name__ == "__main__":
    main()
