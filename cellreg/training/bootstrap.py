"""Percentile bootstrap intervals of the regression metrics, in bounded memory and linear time.

A resample of n rows drawn with replacement is a vector of counts per row, so every metric of a
resample is a count-weighted sum over the original rows; Spearman's ranks are the cumulative counts
over the rows in sorted order (ties share their mid-rank), with no sort per resample. Resamples are
processed ``chunk`` at a time, at most :data:`CELLS` row-counts in memory, so a test split of
2 M rows costs a few hundred MB whatever the number of resamples (the all-at-once version held
n_boot × n indices and several copies: 14.8 GB at 200,000 rows).

Time is bounded too: at most :data:`MAX_DRAWS` row draws in all (about 20 s on one core), but never
fewer than :data:`MIN_RESAMPLES` resamples; :func:`resamples_for` says how many a split of n rows
gets (1,000 up to 200,000 measured rows, 100 at 2 M), and the run records it beside the interval.

The draws are those of ``rng.integers(0, n, size=(n_boot, n))``, chunk by chunk, so the resamples
are the same as drawing all of them at once.
"""

from __future__ import annotations

import math

import numpy as np

METRICS = ("pearson", "spearman", "mse", "rmse", "r2")
CELLS = 1 << 22  # row-counts per chunk: ~32 MB per [chunk, n] array
MAX_DRAWS = 200_000_000
MIN_RESAMPLES = 100


def resamples_for(n: int, n_boot: int = 1000, max_draws: int = MAX_DRAWS) -> int:
    """How many resamples an interval over ``n`` rows gets: ``n_boot``, fewer where that would draw
    more than ``max_draws`` rows, never fewer than :data:`MIN_RESAMPLES` (nor more than ``n_boot``)."""
    return min(n_boot, max(MIN_RESAMPLES, max_draws // max(n, 1)))


def _tie_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """``(order, group_of_row, groups)``: rows sorted by ``x``; equal values share a group, numbered in
    sorted order."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.concatenate([[True], xs[1:] != xs[:-1]])
    group_sorted = np.cumsum(new) - 1
    group = np.empty(len(x), np.int64)
    group[order] = group_sorted
    return order, group, int(group_sorted[-1]) + 1


def _ranks(w: np.ndarray, order: np.ndarray, group: np.ndarray, tied: bool) -> np.ndarray:
    """[k, n] mid-ranks, centred on 0, of every row within each count-weighted resample (``w`` [k, n]
    summing to n per row): the counts before a row's value plus half its own value's count."""
    n = w.shape[1]
    per = w[:, order]  # counts in sorted order
    if tied:  # one count per distinct value
        starts = np.flatnonzero(np.concatenate([[True], np.diff(group[order]) != 0]))
        per = np.add.reduceat(per, starts, axis=1)
    mid = np.cumsum(per, axis=1)
    mid -= per / 2 - 0.5 + (n + 1) / 2  # before + (count + 1) / 2, centred
    return mid[:, group] if tied else _unsort(mid, order)


def _unsort(x: np.ndarray, order: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    out[:, order] = x
    return out


def _pearson_centred(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``x`` and ``y`` [k, n], whose weighted means under ``w`` are 0."""
    sxy = np.einsum("ij,ij,ij->i", w, x, y)
    denom = np.sqrt(np.einsum("ij,ij,ij->i", w, x, x) * np.einsum("ij,ij,ij->i", w, y, y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, sxy / denom, np.nan)


def _pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Pearson correlation of the vectors ``x``, ``y`` [n] under each row of weights ``w`` [k, n]."""
    mx, my, mxx, myy = w @ x / n, w @ y / n, w @ (x * x) / n, w @ (y * y) / n
    sxy, sxx, syy = w @ (x * y) / n - mx * my, mxx - mx * mx, myy - my * my
    constant = (sxx <= 1e-12 * mxx) | (syy <= 1e-12 * myy)  # a constant resample has no correlation
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(constant, np.nan, sxy / np.sqrt(np.abs(sxx * syy)))


def resample_metrics(p: np.ndarray, o: np.ndarray, n_boot: int, rng: np.random.Generator,
                     cells: int = CELLS) -> dict[str, np.ndarray]:
    """Every metric of ``n_boot`` resamples of the rows of ``p``, ``o`` (no NaN), ``[n_boot]`` each."""
    n = len(o)
    chunk = max(1, cells // n)
    sq_err = (p - o) ** 2
    order_p, group_p, n_p = _tie_groups(p)
    order_o, group_o, n_o = _tie_groups(o)
    p, o = p - p.mean(), o - o.mean()  # centred once: the weighted sums lose no precision
    out = {m: [] for m in METRICS}
    for start in range(0, n_boot, chunk):
        k = min(chunk, n_boot - start)
        flat = rng.integers(0, n, size=(k, n))
        flat += (np.arange(k) * n)[:, None]
        w = np.bincount(flat.ravel(), minlength=k * n).reshape(k, n).astype(np.float64)
        del flat
        mse = w @ sq_err / n
        mo = w @ o / n
        var = w @ (o * o) / n - mo * mo
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = np.where(var > 0, 1 - mse / var, np.nan)
        out["mse"].append(mse)
        out["rmse"].append(np.sqrt(mse))
        out["r2"].append(r2)
        out["pearson"].append(_pearson(w, p, o, n))
        out["spearman"].append(_pearson_centred(w, _ranks(w, order_p, group_p, n_p < n),
                                                _ranks(w, order_o, group_o, n_o < n)))
    return {m: np.concatenate(v) for m, v in out.items()}


def bootstrap_intervals(pred: np.ndarray, obs: np.ndarray, n_boot: int = 1000, seed: int = 0,
                        level: float = 0.95, cells: int = CELLS, max_draws: int = MAX_DRAWS) -> dict[str, list[float]]:
    """Percentile bootstrap interval of every metric over the measured entries (NaN ``obs`` left out),
    from :func:`resamples_for` resamples."""
    keep = ~np.isnan(obs)
    p, o = pred[keep].astype(np.float64), obs[keep].astype(np.float64)
    if len(o) < 2:
        return {m: [math.nan, math.nan] for m in METRICS}
    values = resample_metrics(p, o, resamples_for(len(o), n_boot, max_draws), np.random.default_rng(seed), cells)
    tail = (1 - level) / 2 * 100
    out = {}
    for m, v in values.items():
        v = v[np.isfinite(v)]
        out[m] = [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] if len(v) else [math.nan] * 2
    return out
