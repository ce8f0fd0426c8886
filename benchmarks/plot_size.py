"""Size and memory of a run's test plots for many labels (docs/label_groups.md).

    python benchmarks/plot_size.py 200 1000
    git show 5544375:cellreg/training/plots.py > /tmp/old_plots.py   # the plots before label groups
    python benchmarks/plot_size.py 200 1000 --old /tmp/old_plots.py

Each size runs in its own process (peak RSS is per process): 2,000 test strains, Gaussian labels.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def measure(labels: int, old: str | None) -> dict:
    import numpy as np
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # the old figures pass PIL's decompression-bomb limit
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2000, labels))
    pred = obs + rng.normal(size=(2000, labels))
    names = [f"label{j}" for j in range(labels)]
    out = Path(tempfile.mkdtemp())
    if old:
        spec = importlib.util.spec_from_file_location("old_plots", old)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.predicted_vs_observed(pred, obs, names, {}, out / "old.png")
        files = ["old.png"]
    else:
        from cellreg.data.label_groups import scalar_groups
        from cellreg.training import plots

        files = plots.predicted_vs_observed(pred, obs, names, scalar_groups(names), {}, out)
    return {"labels": labels, "figures": {f: list(Image.open(out / f).size) for f in files},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=int, nargs="+")
    parser.add_argument("--old", help="a plots.py to measure instead of the current one")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.labels[0], args.old)))
        return
    print("| labels | figures (width x height px) | peak RSS |\n|---|---|---|")
    for n in args.labels:
        cmd = [sys.executable, __file__, str(n), "--one"] + (["--old", args.old] if args.old else [])
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        sizes = ", ".join(f"{name} {w:,} x {h:,}" for name, (w, h) in r["figures"].items())
        print(f"| {n:,} | {sizes} | {r['peak_rss_mb']:,} MB |")


if __name__ == "__main__":
    main()
