"""The one place a run's numbers are computed: per label group, by a scorer for the group's kind.

Every consumer (the trainer's epochs and test report, ``train.select``, plots, ``cellreg compare``,
the trackers, ``cellreg screen`` objectives) goes through :func:`score_groups` and the scorers here,
never through its own loop over labels.

**Extension point.** A group kind is scored by a :class:`GroupScorer` subclass: set ``kind`` and
``metrics`` (name -> higher is better; the names ``train.select`` may use, which must also be in
:data:`cellreg.config.schema.Metric`), implement :meth:`GroupScorer.score`, and optionally
:meth:`~GroupScorer.intervals` and :meth:`~GroupScorer.objective_weights`. Name its class in
:data:`SCORERS` (imported on first use), or call :func:`register_scorer` (tests).
"""

from __future__ import annotations

import importlib
import math
from typing import ClassVar, Sequence

import numpy as np

from cellreg.config.errors import ConfigError
from cellreg.data.label_groups import GroupKind, LabelGroup, find_group, group_columns
from cellreg.toolkit.text_tables import suggest
from cellreg.training.bootstrap import resamples_for
from cellreg.training.metrics import METRICS, bootstrap_intervals, regression_metrics

# kind -> "module:Class" of its scorer, imported on first use
SCORERS: dict[GroupKind, str] = {
    GroupKind.SCALAR: f"{__name__}:ScalarScorer",
    GroupKind.PROFILE: "cellreg.training.profile_metrics:ProfileScorer",  # issue 24 provides it
}
_BUILT: dict[GroupKind, "GroupScorer"] = {}
LOSS = "loss"  # val.loss: the objective on validation rows, lower is better


class GroupScorer:
    """How one kind of label group is scored, in raw label units over measured entries (NaN = not
    measured). ``pred`` and ``obs`` are ``[S, k]``: the group's ``k`` columns, in ``group.labels`` order."""

    kind: ClassVar[GroupKind]
    metrics: ClassVar[dict[str, bool]]  # metric -> higher is better; the numbers val.<group>.<metric> may name
    titles: ClassVar[dict[str, str]] = {}  # metric -> column title of the tables of runs; empty: every metric

    def score(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup) -> dict:
        """``{metric: float (NaN where undefined), "n": measured entries, ...}``; any further keys
        (per-label details) are nested dicts."""
        raise NotImplementedError

    def intervals(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup, seed: int) -> dict:
        """What the test report adds to the group's metrics about their uncertainty, e.g.
        ``{"ci95": {metric: [lo, hi]}, "ci95_resamples": 1000}``; empty when none."""
        return {}

    def columns(self) -> dict[str, str]:
        """The metrics a table of runs shows, metric -> column title: :attr:`titles`, else every metric."""
        return dict(self.titles) or {m: m for m in self.metrics}

    def objective_weights(self, group: LabelGroup) -> np.ndarray:
        """``[k]`` weights of the group's columns in a ``cellreg screen`` objective: their mean."""
        return np.full(len(group.labels), 1.0 / len(group.labels))


class ScalarScorer(GroupScorer):
    """Separate scalar labels. One label: its regression metrics (Pearson, Spearman, MSE, RMSE, R²).
    Several: each label's under ``labels``, and the mean of each metric over the labels at the top."""

    kind = GroupKind.SCALAR
    metrics = {"pearson": True, "spearman": True, "mse": False, "rmse": False, "r2": True}
    titles = {"pearson": "Pearson", "spearman": "Spearman", "rmse": "RMSE", "r2": "R²"}

    def score(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup) -> dict:
        per = [regression_metrics(pred[:, j], obs[:, j]) for j in range(len(group.labels))]
        if len(per) == 1:
            return per[0]
        out = {m: _mean([p[m] for p in per]) for m in METRICS}
        out["n"] = sum(p["n"] for p in per)
        out["labels"] = dict(zip(group.labels, per))
        return out

    def intervals(self, pred: np.ndarray, obs: np.ndarray, group: LabelGroup, seed: int) -> dict:
        """Percentile bootstrap intervals over strains, of each label (a group of several: under ``labels``)."""
        per = [{"ci95": bootstrap_intervals(pred[:, j], obs[:, j], seed=seed),
                "ci95_resamples": resamples_for(int(np.sum(~np.isnan(obs[:, j]))))} for j in range(len(group.labels))]
        return per[0] if len(per) == 1 else {"labels": dict(zip(group.labels, per))}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def register_scorer(scorer: GroupScorer) -> None:
    """Use ``scorer`` for its kind (replacing any other)."""
    _BUILT[scorer.kind] = scorer


def scorer_for(kind: GroupKind) -> GroupScorer:
    """The scorer of a group kind; a kind no scorer exists for is a clear error."""
    if kind not in _BUILT:
        module, _, name = SCORERS.get(kind, ":").partition(":")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError):
            raise NotImplementedError(f"no scorer for label groups of kind {kind.value!r} is installed "
                                      f"(expected {SCORERS.get(kind, 'an entry in SCORERS')})") from None
        _BUILT[kind] = cls()
    return _BUILT[kind]


def score_groups(pred: np.ndarray, obs: np.ndarray, label_names: Sequence[str],
                 groups: Sequence[LabelGroup]) -> dict[str, dict]:
    """``{group name: its scorer's metrics}`` for ``pred``/``obs`` ``[S, L]`` over ``label_names``."""
    return {g.name: scorer_for(g.kind).score(pred[:, cols], obs[:, cols], g)
            for g, cols in zip(groups, group_columns(groups, label_names))}


def add_intervals(metrics: dict, pred: np.ndarray, obs: np.ndarray, label_names: Sequence[str],
                  groups: Sequence[LabelGroup], seed: int) -> None:
    """What each group's scorer says of its metrics' uncertainty (``ci95``), merged into ``metrics``
    (as :func:`score_groups` made it)."""
    for g, cols in zip(groups, group_columns(groups, label_names)):
        _merge(metrics[g.name], scorer_for(g.kind).intervals(pred[:, cols], obs[:, cols], g, seed))


def _merge(into: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict) and key != "ci95":
            _merge(into[key], value)
        else:
            into[key] = value


def resolve_select(select: str, groups: Sequence[LabelGroup], source: str = "<config>") -> str:
    """``train.select`` in its canonical form ``val.<group>.<metric>`` (or ``val.loss``): the old
    ``val.<label>.<metric>`` names the group of that one label. An unknown group or a metric its
    kind lacks is a ConfigError from ``source`` naming the choices."""
    parts = select.split(".")
    if select == f"val.{LOSS}":
        return select
    if len(parts) != 3 or parts[0] != "val":
        raise ConfigError(source, [f"train.select: expected val.loss or val.<group>.<metric>, got {select!r}"])
    _, name, metric = parts
    group = find_group(name, groups)
    if group is None:
        choices = [g.name for g in groups]
        raise ConfigError(source, [f"train.select: no label group {name!r}{suggest(name, choices)}; groups are: "
                                   f"{', '.join(choices[:20])}{' ...' if len(choices) > 20 else ''}"])
    known = scorer_for(group.kind).metrics
    if metric not in known:
        raise ConfigError(source, [f"train.select: {group.name!r} is a {group.kind.value} group, which has no "
                                   f"metric {metric!r}; choose one of: {', '.join(known)}"])
    return f"val.{group.name}.{metric}"


def higher_is_better(select: str, groups: Sequence[LabelGroup]) -> bool:
    """Whether a larger value of ``select`` (canonical or not) is better."""
    resolved = resolve_select(select, groups)
    if resolved == f"val.{LOSS}":
        return False
    _, name, metric = resolved.split(".")
    return scorer_for(find_group(name, groups).kind).metrics[metric]


def metric_higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` is better, from its name alone (before any data loads,
    e.g. a sweep's direction): as every group kind that has it says; ``loss`` is lower-better."""
    if metric == LOSS:
        return False
    said = set()
    for kind in SCORERS:
        try:
            said.add(scorer_for(kind).metrics.get(metric))
        except NotImplementedError:  # a kind whose scorer is not installed
            continue
    said.discard(None)
    if len(said) != 1:
        raise ValueError(f"metric {metric!r}: {'no group kind has it' if not said else 'group kinds disagree on its direction'}")
    return said.pop()


def selected_value(entry: dict, select: str) -> float:
    """An epoch's (or report's) value of a canonical ``select``, from its ``val`` metrics; NaN when
    undefined or absent."""
    node = entry.get("val", {})
    for p in select.split(".")[1:]:
        node = node.get(p) if isinstance(node, dict) else None
    return float(node) if isinstance(node, (int, float)) and math.isfinite(node) else math.nan
