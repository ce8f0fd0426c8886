"""Memory of training on a yeast-scale expression profile: 6,000 features over 10,000 strains.

    flock /tmp/cellreg-heavy.lock .venv/bin/python benchmarks/profile_scale.py --out docs/profile_scale

The synthetic organism at yeast scale (6,607 genes, 9 relations, 2.44 M edges) with
``synthetic_expression`` profiles over its first 6,000 genes: every gene deleted once plus 3,393
pairs, 10,000 strains (a 240 MB float32 profile matrix). Each method trains ``--epochs`` epochs with
``cellreg run`` in a fresh process (gene-held-out split, validation and test scored with the
profile metrics every epoch), and the process's peak resident memory (VmHWM) is read at its end.
Methods: the additive family through the ``vector`` head (``gene_embedding`` + ``sum_mlp`` read out
to 6,000 features) and the transformer with the ``per_gene`` head. The goal: under 8 GB each.

Writes ``OUT/profile_scale.json`` and ``OUT/profile_scale.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

ORGANISM = {
    "graph": {"name": "synthetic", "preset": "yeast"},
    "phenotypes": {"name": "synthetic_expression", "features": 6000, "doubles": 3393},
    "split": {"kind": "gene_held_out", "val_fraction": 0.1, "test_fraction": 0.1},
}
METHODS = {
    "additive_vector": {
        "model": {"encoder": {"name": "gene_embedding", "dim": 64},
                  "head": {"name": "vector", "rank": 64, "inner": {"name": "sum_mlp", "hidden": 128}}},
        "loss": [{"name": "profile"}]},
    "transformer_per_gene": {
        "model": {"encoder": {"name": "transformer", "dim": 32, "layers": 2, "heads": 8},  # 16 heads: 9 relations tied
                  "head": {"name": "per_gene", "rank": 32, "hidden": 64}},
        "loss": [{"name": "profile"}, {"name": "graph_kl", "weight": 0.1}]},
}
CHILD = """
import json, sys
from cellreg.training.trainer import run
report = run(sys.argv[1], sys.argv[2])
peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
print('RESULT ' + json.dumps({'peak_mb': peak, 'test': report['test']['expression'],
                              'train_seconds': report['train_seconds'], 'split_sizes': report['split_sizes']}))
"""


def measure(name: str, epochs: int, batch: int, work: Path) -> dict:
    config = {"name": name, "seed": 0, **ORGANISM, **METHODS[name],
              "train": {"epochs": epochs, "batch_size": batch, "eval_batch_size": 512, "lr": 0.002,
                        "progress": False, "threads": 2, "select": "val.expression.pearson_delta_top20"}}
    path = work / f"{name}.toml"
    path.write_text(tomli_w.dumps(config))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(work / name)], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
    return {**json.loads(line[len("RESULT "):]), "wall_seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="profile_scale")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.methods:
            results[name] = measure(name, args.epochs, args.batch, Path(tmp))
            print(name, f"{results[name]['peak_mb']:.0f} MB", flush=True)
    (out / "profile_scale.json").write_text(json.dumps(results, indent=2))
    rows = ["| method | peak RSS | train s/epoch | wall s | test pearson_delta_top20 (training mean) |",
            "| --- | ---: | ---: | ---: | ---: |"]
    for name, r in results.items():
        t = r["test"]
        rows.append(f"| {name} | {r['peak_mb'] / 1024:.2f} GB | {r['train_seconds'] / args.epochs:.0f} | "
                    f"{r['wall_seconds']:.0f} | {t['pearson_delta_top20']:.3f} "
                    f"({t['training_mean']['pearson_delta_top20']:.3f}) |")
    (out / "profile_scale.md").write_text("\n".join(rows) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
