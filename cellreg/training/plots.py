"""PNG plots of a run: learning curves, and predicted vs observed on the test split."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def learning_curves(history: list[dict], select: str, path: Path) -> None:
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(epochs, [h["train_loss"] for h in history], label="train")
    axes[0].plot(epochs, [h["val"]["loss"] for h in history], label="val")
    axes[0].set(xlabel="epoch", ylabel="loss (standardized)", title="Objective")
    axes[0].legend()
    for split in ("train", "val"):
        values = [_lookup(h, split, select) for h in history]
        axes[1].plot(epochs, values, label=split)
    axes[1].set(xlabel="epoch", ylabel=select.split(".", 1)[-1], title=f"Selection metric: {select}")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lookup(entry: dict, split: str, select: str):
    parts = select.split(".")[1:]
    node = entry.get(split, {})
    for p in parts:
        node = node.get(p, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, (int, float)) else np.nan


def predicted_vs_observed(pred: np.ndarray, obs: np.ndarray, label_names, metrics: dict, path: Path) -> None:
    n = len(label_names)
    fig, axes = plt.subplots(1, n, figsize=(4.5 * n, 4.2), squeeze=False)
    for j, (ax, name) in enumerate(zip(axes[0], label_names)):
        keep = ~np.isnan(obs[:, j])
        ax.scatter(obs[keep, j], pred[keep, j], s=4, alpha=0.3, linewidths=0)
        both = np.concatenate([obs[keep, j], pred[keep, j]])
        lo, hi = (both.min(), both.max()) if len(both) else (0.0, 1.0)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        r = metrics.get(name, {}).get("pearson")
        ax.set(xlabel=f"observed {name}", ylabel=f"predicted {name}",
               title=f"test {name}: r = {r:.3f}" if isinstance(r, float) else f"test {name}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
