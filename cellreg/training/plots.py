"""PNG plots of a run: learning curves, and predicted vs observed on the test split, per label group.

Readable, and bounded in size and memory, for any number of labels: one scatter panel per group
(a group of several labels pools its entries), at most :data:`MAX_PANELS` panels and
:data:`MAX_POINTS` points per panel; where there are more groups, or groups of several labels, a
summary figure shows every label's test Pearson, sorted. The scatter figure once grew 4.5 inches
per label: past 2^16 pixels (older Agg's limit) at about 130 labels, and 5 GB of canvas at 6,000.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cellreg.data.label_groups import LabelGroup, group_columns  # noqa: E402
from cellreg.training.metrics import column_pearson  # noqa: E402

MAX_PANELS = 12  # scatter panels in one figure (4 per row)
MAX_POINTS = 20_000  # points drawn per panel (a fixed random subset beyond)
MAX_TICKS = 40  # label names written on the summary's axis up to this many labels
SCATTER = "test_predicted_vs_observed.png"
SUMMARY = "test_pearson_by_label.png"


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


def predicted_vs_observed(pred: np.ndarray, obs: np.ndarray, label_names: Sequence[str],
                          groups: Sequence[LabelGroup], metrics: dict, folder: Path) -> list[str]:
    """Write the test plots into ``folder``; returns the file names written."""
    written = [SCATTER]
    _scatter(pred, obs, label_names, groups, metrics, folder / SCATTER)
    if len(groups) > MAX_PANELS or len(label_names) > len(groups):
        _pearson_summary(pred, obs, label_names, groups, folder / SUMMARY)
        written.append(SUMMARY)
    return written


def _scatter(pred, obs, label_names, groups, metrics: dict, path: Path) -> None:
    shown = list(zip(groups, group_columns(groups, label_names)))[:MAX_PANELS]
    cols = min(4, max(len(shown), 1))
    rows = math.ceil(len(shown) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.9 * rows), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, (group, columns) in zip(axes.flat, shown):
        o, p = obs[:, columns].ravel(), pred[:, columns].ravel()
        keep = np.flatnonzero(~np.isnan(o))
        if len(keep) > MAX_POINTS:
            keep = np.sort(rng.choice(keep, MAX_POINTS, replace=False))
        ax.scatter(o[keep], p[keep], s=4, alpha=0.3, linewidths=0)
        both = np.concatenate([o[keep], p[keep]])
        lo, hi = (both.min(), both.max()) if len(both) else (0.0, 1.0)
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        what = group.name + (f" ({group.unit})" if group.unit else "")
        ax.set(xlabel=f"observed {what}", ylabel=f"predicted {what}", title=_title(group, metrics.get(group.name, {})))
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    if len(groups) > len(shown):
        fig.suptitle(f"{len(shown)} of {len(groups)} label groups; every label's Pearson: {SUMMARY}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _title(group: LabelGroup, m: dict) -> str:
    size = f", {len(group.labels)} labels" if len(group.labels) > 1 else ""
    r = m.get("pearson")
    return f"test {group.name}{size}: r = {r:.3f}" if isinstance(r, float) and math.isfinite(r) \
        else f"test {group.name}{size}"


def _pearson_summary(pred, obs, label_names, groups, path: Path) -> None:
    """Every label's test Pearson, sorted: the one-label groups as one series, each larger group as
    its own; readable at any count."""
    r = column_pearson(pred, obs)
    columns = group_columns(groups, label_names)
    singles = [c for g, c in zip(groups, columns) if len(g.labels) == 1]
    series = ([("labels", np.concatenate(singles))] if singles else []) + \
        [(g.name, c) for g, c in zip(groups, columns) if len(g.labels) > 1]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    start = 0
    for name, cols in series:
        order = cols[np.argsort(-np.nan_to_num(r[cols], nan=-np.inf), kind="stable")]
        ax.plot(np.arange(start, start + len(order)), r[order], marker="." if len(order) <= 200 else None,
                lw=1, label=name if len(series) <= 10 else None)
        if len(series) == 1 and len(order) <= MAX_TICKS:
            ax.set_xticks(range(len(order)), [label_names[j] for j in order], rotation=90, fontsize=7)
        start += len(order)
    if len(series) > 1 or start > MAX_TICKS:
        ax.set_xlabel(f"{len(label_names)} labels in {len(groups)} groups, sorted by Pearson within each series")
    ax.axhline(0, color="grey", lw=0.8)
    finite = r[np.isfinite(r)]
    median = f"; median r = {np.median(finite):.3f}" if len(finite) else ""
    ax.set(ylabel="test Pearson", title=f"Test Pearson per label{median}")
    if 1 < len(series) <= 10:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
