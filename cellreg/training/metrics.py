"""Regression metrics per label, in raw label units, over the measured entries only."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from cellreg.training.bootstrap import bootstrap_intervals as chunked_intervals

METRICS = ("pearson", "spearman", "mse", "rmse", "r2")


def regression_metrics(pred: np.ndarray, obs: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman, MSE, RMSE, R² and n. Undefined values (constant input, n < 2) are NaN."""
    keep = ~np.isnan(obs)
    p, o = pred[keep].astype(np.float64), obs[keep].astype(np.float64)
    n = len(o)
    out = {"n": n, **{m: math.nan for m in METRICS}}
    if n == 0:
        return out
    mse = float(np.mean((p - o) ** 2))
    out.update(mse=mse, rmse=math.sqrt(mse))
    var = float(np.var(o))
    if var > 0:
        out["r2"] = 1.0 - mse / var
    if n >= 2 and np.ptp(p) > 0 and np.ptp(o) > 0:
        out["pearson"] = float(stats.pearsonr(p, o)[0])
        out["spearman"] = float(stats.spearmanr(p, o)[0])
    return out


def column_pearson(pred: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """[L] Pearson of each column over its measured rows (NaN in ``obs``), all columns at once; NaN
    where fewer than 2 rows or either side is constant."""
    keep = ~np.isnan(obs)
    n = keep.sum(0)
    p, o = np.where(keep, pred, 0.0).astype(np.float64), np.where(keep, obs, 0.0).astype(np.float64)
    safe = np.maximum(n, 1)
    dp = np.where(keep, p - p.sum(0) / safe, 0.0)
    do = np.where(keep, o - o.sum(0) / safe, 0.0)
    denom = np.sqrt((dp * dp).sum(0) * (do * do).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n >= 2) & (denom > 0), (dp * do).sum(0) / denom, np.nan)


def json_safe(obj):
    """NaN/inf become null so metrics files are valid JSON."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def bootstrap_intervals(pred: np.ndarray, obs: np.ndarray, n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95) -> dict[str, list[float]]:
    """Percentile bootstrap interval of every metric over measured entries, in bounded memory and
    time: see :mod:`cellreg.training.bootstrap`."""
    return chunked_intervals(pred, obs, n_boot, seed, level)


def spread(embeddings, max_items: int = 1024) -> float:
    """Over-smoothing monitor: mean pairwise distance between embeddings divided by their mean norm
    (on up to ``max_items`` of them). It falls toward 0 as a GNN or transformer makes every gene alike."""
    import torch

    x = embeddings.detach().float().reshape(-1, embeddings.shape[-1])[:max_items]
    if len(x) < 2:
        return math.nan
    dist = torch.cdist(x, x)
    n = len(x)
    mean_dist = dist.sum() / (n * (n - 1))
    return float(mean_dist / x.norm(dim=1).mean().clamp(min=1e-12))
