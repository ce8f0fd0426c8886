"""Metrics of vector phenotypes (profiles), with pinned definitions, and the baselines every profile
table carries. Definitions drift between tools (GEARS, scGPT), so ours are fixed here and in
docs/profiles.md:

* Everything is computed on **changes from the reference profile** in raw feature units: the
  observed change is the strain's profile minus the reference profile the reader subtracted (the
  control cells' mean, the wild-type rows' mean, or the deleteome's own log ratio), the predicted
  change is the model's output for the same labels. Never the training mean, never the control of
  another batch.
* Per strain, over the features measured for it (NaN observed or predicted entries are left out):
  ``pearson_delta`` (Pearson of predicted and observed changes, all features), ``cosine_delta``
  (their cosine similarity). On the strain's ``top`` (20) **most changed features**, those with the
  largest ``|observed change|`` (ties: the earlier feature), fewer when fewer are measured:
  ``pearson_delta_top20``, ``mse_top20`` (mean squared error of the changes) and
  ``direction_top20`` (the fraction whose predicted change has the observed change's sign; a
  predicted 0 never does).
* Each metric is the mean over strains where it is defined (Pearson needs two distinct values on
  both sides; cosine a non-zero vector on both), and ``n_<metric>`` says over how many.

Baselines, on the same rows: ``no_change`` (predicts 0), ``training_mean`` (the mean change of the
training strains, per feature), ``additive`` (for strains of two or more perturbations: the sum of
the single perturbations' changes, each the mean of its training single mutants; strains missing a
single in training are left out, and ``combinations`` holds the model's figures on exactly the
strains ``additive`` was scored on).

Every step is vectorised over strains and features: no Python loop over either.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cellreg.data.label_groups import GroupKind, LabelGroup, group_columns
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.training.group_metrics import GroupScorer

TOP = 20
PROFILE_METRICS = ("pearson_delta", "pearson_delta_top20", "mse_top20", "direction_top20", "cosine_delta")
HIGHER_IS_BETTER = {"pearson_delta": True, "pearson_delta_top20": True, "mse_top20": False,
                    "direction_top20": True, "cosine_delta": True}
BASELINES = ("no_change", "training_mean", "additive")


def _rowwise_pearson(p: np.ndarray, o: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pearson per row over the entries where ``w``; NaN where fewer than 2 or either side constant."""
    n = w.sum(1)
    safe_n = np.maximum(n, 1)
    p0, o0 = np.where(w, p, 0.0), np.where(w, o, 0.0)
    dp = np.where(w, p - (p0.sum(1) / safe_n)[:, None], 0.0)
    do = np.where(w, o - (o0.sum(1) / safe_n)[:, None], 0.0)
    vp, vo = (dp * dp).sum(1), (do * do).sum(1)
    # constant within rounding (a constant 0.1 leaves ~1e-34 of variance): undefined, not noise's sign
    tiny = 1e-24 * n * np.maximum(np.abs(p0).max(1, initial=0.0), np.abs(o0).max(1, initial=0.0)) ** 2
    ok = (n >= 2) & (vp > tiny) & (vo > tiny)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, (dp * do).sum(1) / np.sqrt(vp * vo), np.nan)


def _rowwise_cosine(p: np.ndarray, o: np.ndarray, w: np.ndarray) -> np.ndarray:
    p0, o0 = np.where(w, p, 0.0), np.where(w, o, 0.0)
    norms = np.sqrt((p0 * p0).sum(1) * (o0 * o0).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (p0 * o0).sum(1) / norms, np.nan)


def top_features(obs: np.ndarray, top: int = TOP) -> tuple[np.ndarray, np.ndarray]:
    """(indices [S, k], valid [S, k]): each strain's ``top`` measured features of largest
    ``|observed change|``, ties broken by feature order; ``valid`` is False past a strain's measured count."""
    k = min(top, obs.shape[1])
    score = np.where(np.isnan(obs), -np.inf, np.abs(obs))
    idx = np.argsort(-score, axis=1, kind="stable")[:, :k]
    return idx, np.isfinite(np.take_along_axis(score, idx, 1))


def per_strain(pred: np.ndarray, obs: np.ndarray, top: int = TOP) -> dict[str, np.ndarray]:
    """Every metric per strain ([S] each, NaN where undefined). Computed on blocks of strains, so
    the float64 work arrays stay near ``BLOCK`` x F whatever S is (8,000 strains of 6,000 features
    would otherwise take about 5 GB of them at once)."""
    if np.shape(pred) != np.shape(obs) or np.ndim(obs) != 2:
        raise ValueError(f"pred and obs must be [strains, features] of one shape, got {np.shape(pred)} and "
                         f"{np.shape(obs)}")
    blocks = [_per_strain(pred[i:i + BLOCK], obs[i:i + BLOCK], top) for i in range(0, max(len(obs), 1), BLOCK)]
    return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}


BLOCK = 256  # strains per block of per_strain


def _per_strain(pred: np.ndarray, obs: np.ndarray, top: int) -> dict[str, np.ndarray]:
    p, o = np.asarray(pred, np.float64), np.asarray(obs, np.float64)
    w = ~np.isnan(p) & ~np.isnan(o)
    idx, valid = top_features(o, top)
    pt, ot = np.take_along_axis(p, idx, 1), np.take_along_axis(o, idx, 1)
    wt = valid & ~np.isnan(pt)
    n_top = wt.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = np.where(n_top > 0, np.where(wt, (pt - ot) ** 2, 0.0).sum(1) / n_top, np.nan)
        direction = np.where(n_top > 0, (wt & (np.sign(pt) == np.sign(ot))).sum(1) / n_top, np.nan)
    return {"pearson_delta": _rowwise_pearson(p, o, w), "pearson_delta_top20": _rowwise_pearson(pt, ot, wt),
            "mse_top20": mse, "direction_top20": direction, "cosine_delta": _rowwise_cosine(p, o, w)}


def profile_metrics(pred: np.ndarray, obs: np.ndarray, top: int = TOP) -> dict[str, float]:
    """Every metric averaged over the strains where it is defined, with ``n_<metric>`` and ``n_strains``."""
    out: dict[str, float] = {"n_strains": int(len(obs))}
    for name, values in per_strain(pred, obs, top).items():
        defined = values[np.isfinite(values)]
        out[name] = float(defined.mean()) if len(defined) else float("nan")
        out[f"n_{name}"] = int(len(defined))
    return out


def _entries(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``rows`` [nnz], CSR entry [nnz]) of every perturbation of the strains ``rows``."""
    sizes = offsets[rows + 1] - offsets[rows]
    ends = np.cumsum(sizes)
    pos = np.repeat(offsets[rows] - (ends - sizes), sizes) + np.arange(ends[-1] if len(ends) else 0)
    return np.repeat(np.arange(len(rows)), sizes), pos


def _column_mean(x: np.ndarray) -> np.ndarray:
    """Mean of each column over its measured values (NaN where none), in float64 without a float64 copy."""
    counts = (~np.isnan(x)).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(x, 0, dtype=np.float64) / np.maximum(counts, 1), np.nan)


def additive_predictions(change: np.ndarray, offsets: np.ndarray, codes: np.ndarray, train: np.ndarray,
                         rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(covered [len(rows)] bool, the additive prediction [covered, F]): for each strain of ``rows``
    with two or more perturbations whose every perturbation code (a gene and its kind) has training
    single mutants, the sum of those singles' mean changes; NaN where a single never measured a feature."""
    sizes = np.diff(offsets)
    strain, entry = _entries(offsets, rows)
    needed = np.unique(codes[entry])
    singles = train[sizes[train] == 1]
    single_code = codes[offsets[singles]]
    singles, single_code = singles[np.isin(single_code, needed)], single_code[np.isin(single_code, needed)]
    have = np.zeros(len(needed), bool)
    have[np.searchsorted(needed, single_code)] = True
    slot = np.searchsorted(needed, codes[entry])  # each entry's code among the needed ones
    missing = np.bincount(strain, weights=~have[slot], minlength=len(rows))
    covered = (sizes[rows] >= 2) & (missing == 0)
    # mean change of each needed code's training singles: [codes, F], one sparse product
    group = sp.csr_matrix((np.ones(len(singles)), (np.searchsorted(needed, single_code), np.arange(len(singles)))),
                          shape=(len(needed), len(singles)))
    x = change[singles]
    measured = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (group @ np.where(measured, x, 0).astype(np.float64)) / (group @ measured.astype(np.float64))
    keep = covered[strain]
    members = sp.csr_matrix((np.ones(int(keep.sum())), (np.cumsum(covered)[strain[keep]] - 1, slot[keep])),
                            shape=(int(covered.sum()), len(needed)))
    pred = members @ np.nan_to_num(means)
    return covered, np.where(members @ np.isnan(means).astype(np.float64) > 0, np.nan, pred)


def baselines(change: np.ndarray, offsets: np.ndarray, genes: np.ndarray, kinds: np.ndarray,
              train: np.ndarray, rows: np.ndarray, model_pred: np.ndarray, top: int = TOP) -> dict[str, dict]:
    """The baselines' metrics on ``rows`` (observed ``change[rows]``), and the model's on the
    additive baseline's strains (``combinations``). ``change`` [S, F] holds every strain's observed
    change; only ``train`` rows inform a baseline."""
    obs = change[rows]
    out = {"no_change": profile_metrics(np.zeros(obs.shape, np.float32), obs, top)}
    mean = _column_mean(change[train]) if len(train) else np.full(obs.shape[1], np.nan)
    out["training_mean"] = profile_metrics(np.broadcast_to(mean, obs.shape), obs, top)
    codes = genes.astype(np.int64) * len(Perturbation) + kinds.astype(np.int64)  # a single is a gene and a kind
    covered, pred = additive_predictions(change, offsets, codes, np.asarray(train), np.asarray(rows))
    out["additive"] = profile_metrics(pred, obs[covered], top)
    out["combinations"] = profile_metrics(np.asarray(model_pred)[covered], obs[covered], top)
    return out


class ProfileScorer(GroupScorer):
    """A profile group (:class:`~cellreg.data.label_groups.GroupKind` ``profile``): the metrics above,
    over the group's feature columns; ``n`` = measured entries."""

    kind = GroupKind.PROFILE
    metrics = HIGHER_IS_BETTER

    def score(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup) -> dict:
        out = profile_metrics(pred, obs)
        out["n"] = int(np.sum(~np.isnan(obs)))
        return out

    def intervals(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup, seed: int) -> dict:
        """Percentile bootstrap (95 %) of each metric's mean over strains, strains resampled 1,000 times."""
        values = per_strain(pred, obs)
        if len(obs) < 2:
            return {}
        draws = np.random.default_rng(seed).integers(0, len(obs), size=(BOOTSTRAP, len(obs)))
        ci = {}
        for name, v in values.items():
            v = v[draws]
            defined = np.isfinite(v)
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(defined, v, 0.0).sum(1) / defined.sum(1)
            means = means[np.isfinite(means)]
            ci[name] = [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))] if len(means) \
                else [float("nan")] * 2
        return {"ci95": ci, "ci95_resamples": BOOTSTRAP}


BOOTSTRAP = 1000


def add_baselines(metrics: dict, pred: np.ndarray, table: PhenotypeTable, train: np.ndarray,
                  rows: np.ndarray) -> None:
    """Beside each profile group's figures in ``metrics`` (as :func:`score_groups` made them for the
    strains ``rows``, predicted ``pred`` [rows, L]), its baselines on the same rows: ``no_change``,
    ``training_mean``, ``additive`` and ``combinations`` (the model on the additive baseline's strains)."""
    for group, cols in zip(table.label_groups, group_columns(table.label_groups, table.label_names)):
        if group.kind != GroupKind.PROFILE or group.name not in metrics:
            continue
        metrics[group.name].update(baselines(table.labels[:, cols], table.offsets, table.genes, table.kinds,
                                             np.asarray(train), np.asarray(rows), pred[:, cols]))
