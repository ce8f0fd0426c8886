"""The screen's picture: where the top designs sit in the score distribution, and which genes
they are made of."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def screen_plot(sample: np.ndarray, total: int, top: np.ndarray, top_genes: list[list[str]], path: Path,
                title: str, shown_genes: int = 20) -> None:
    """``sample``: scores of an evenly spaced subset of all ``total`` designs; ``top``: the kept
    designs' scores; ``top_genes``: their genes."""
    fig, (dist, genes) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    finite = sample[np.isfinite(sample)]
    dist.hist(finite, bins=80, color="0.6", log=True,
              label=f"{len(finite):,} of {total:,} designs (evenly spaced)")
    for i, s in enumerate(top[np.isfinite(top)]):
        dist.axvline(s, color="tab:red", lw=0.6, alpha=0.6, label=f"top {len(top)}" if i == 0 else None)
    dist.set(xlabel="score", ylabel="designs (log)", title=title)
    dist.legend(loc="upper left", fontsize=8)
    names, counts = np.unique([g for design in top_genes for g in design], return_counts=True)
    order = np.argsort(-counts, kind="stable")[:shown_genes]
    genes.barh(np.arange(len(order))[::-1], counts[order], color="tab:red")
    genes.set_yticks(np.arange(len(order))[::-1], names[order], fontsize=7)
    genes.set(xlabel=f"designs in the top {len(top)}", title="Genes of the top designs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
