"""What a screen ranks by: a weighted sum of labels in raw units, higher is better, and how
several runs' values of it combine into one score.

``--objective LABEL:max|min[:WEIGHT]`` (repeatable): ``objective = Σ ± weight · label`` (+ for max,
− for min). Across R runs: the mean and sample sd of the runs' objectives, and
``score = mean − cautious · sd`` (``cautious = 0``: the mean; 1 or 2: designs the runs agree on).

On a profile (docs/profiles.md) a label is one feature (``expression:YAL001C:min``: the label may
hold ``:``), and ``GROUP:distance=FILE[:WEIGHT]`` adds ``− weight · d`` with d the root mean square
distance between the predicted change and the target change the file gives (``feature value``
lines, changes from the reference in raw units, over the features it names).
"""

from __future__ import annotations

from typing import Sequence

import attrs
import torch

from cellreg.config import ConfigError
from cellreg.data.label_groups import LabelGroup, group_columns
from cellreg.toolkit.text_tables import suggest
from cellreg.training.group_metrics import scorer_for

DIRECTIONS = {"max": 1.0, "min": -1.0}


@attrs.frozen
class Term:
    label: str
    sign: float
    weight: float
    target: str | None = None  # a file of target changes: the term is −weight · RMS distance to them


DISTANCE = ":distance="


def _split_term(text: str) -> tuple[str, str, str | None, str | None]:
    """(label, direction, target file, weight text) of one ``--objective``; the label may hold ':'."""
    if DISTANCE in text:
        label, target = text.split(DISTANCE, 1)
        head, _, last = target.rpartition(":")
        return (label, "min", head, last) if head else (label, "min", target, None)
    parts = text.split(":")
    if len(parts) >= 3 and parts[-2] in DIRECTIONS:
        return ":".join(parts[:-2]), parts[-2], None, parts[-1]
    return ":".join(parts[:-1]), parts[-1], None, None


def parse_objectives(texts: Sequence[str]) -> list[Term]:
    """``["fitness:max", "interaction:min:2", "expression:distance=target.tsv"]`` -> terms; a
    malformed one is a ConfigError."""
    terms, errors = [], []
    for text in texts:
        label, direction, target, weight_text = _split_term(text)
        if ":" not in text or not label or direction not in DIRECTIONS or target == "":
            errors.append(f"{text!r}: expected LABEL:max|min[:WEIGHT] or GROUP:distance=FILE[:WEIGHT], e.g. "
                          "fitness:max, interaction:min:2 or expression:distance=target.tsv")
            continue
        try:
            weight = float(weight_text) if weight_text is not None else 1.0
        except ValueError:
            errors.append(f"{text!r}: the weight {weight_text!r} is not a number")
            continue
        if not weight > 0:
            errors.append(f"{text!r}: the weight must be > 0 (use min instead of max to reverse a label)")
            continue
        terms.append(Term(label, DIRECTIONS[direction], weight, target))
    if errors:
        raise ConfigError("--objective", errors)
    return terms


def objective_weights(terms: Sequence[Term], labels: Sequence[str], run: str,
                      groups: Sequence[LabelGroup] = ()) -> torch.Tensor:
    """[L] signed weights over one run's labels (distance terms left out); a label the run lacks is a
    ConfigError."""
    weights = torch.zeros(len(labels))
    for t in terms:
        if t.target is not None:
            continue
        columns, share = term_columns(t.label, labels, groups, run)
        weights[columns] += t.sign * t.weight * share
    return weights


def term_columns(name: str, labels: Sequence[str], groups: Sequence[LabelGroup], run: str) -> tuple[list[int], torch.Tensor]:
    """The label columns an objective term names and each one's share: a label, or a label group
    through its kind's scorer (a group of scalars: their mean); neither is a ConfigError."""
    if name in labels:
        return [list(labels).index(name)], torch.ones(1)
    group = next((g for g in groups if g.name == name), None)
    if group is None:
        named = [g.name for g in groups if g.name not in labels]  # groups that are not a label of their own
        choices = [*labels, *named]
        raise ConfigError(run, [f"--objective {name}: the run has no label {'or label group ' if named else ''}{name!r}"
                                f"{suggest(name, choices)}; its labels: {', '.join(labels[:20])}"
                                f"{' ...' if len(labels) > 20 else ''}"
                                f"{'; its label groups: ' + ', '.join(named) if named else ''}"])
    share = torch.as_tensor(scorer_for(group.kind).objective_weights(group), dtype=torch.float32)
    return group_columns([group], labels)[0].tolist(), share


def combine(objectives: torch.Tensor, cautious: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[R, B] per-run objectives -> (mean [B], sd [B] (0 for one run), score [B]); a NaN score
    (a run predicting NaN) ranks last."""
    mean = objectives.mean(0)
    sd = objectives.std(0) if len(objectives) > 1 else torch.zeros_like(mean)
    score = torch.nan_to_num(mean - cautious * sd, nan=-torch.inf)
    return mean, sd, score


def running_top(best: torch.Tensor, objectives: torch.Tensor, top: int) -> torch.Tensor:
    """[R, <=top] each run's best ``top`` objectives so far, after one more batch ``objectives`` [R, B].
    A NaN objective is no rank: ``topk`` would put it above every number, so one run predicting NaN
    would set that run's K-th best (the agreement threshold) to NaN, or push real designs out."""
    both = torch.cat([best, torch.nan_to_num(objectives, nan=-torch.inf)], 1)
    return both.topk(min(top, both.shape[1]), dim=1).values


@attrs.frozen(eq=False)
class RunObjective:
    """One run's objective over its predicted values [B, L] (raw units) -> [B]: the linear terms'
    weights, minus each distance term's weight times the RMS distance to its target."""

    weights: torch.Tensor  # [L]
    distances: tuple[tuple[torch.Tensor, torch.Tensor, float], ...] = ()  # (columns [k], target [k], weight)

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        out = values @ self.weights
        for columns, target, weight in self.distances:
            out = out - weight * (values[:, columns] - target).pow(2).mean(1).sqrt()
        return out


def run_objective(terms: Sequence[Term], labels: Sequence[str], run: str, device=None,
                  groups: Sequence[LabelGroup] = ()) -> RunObjective:
    """The objective of ``terms`` over one run's labels (a profile's are ``GROUP:FEATURE``)."""
    from cellreg.data.profiles import read_target

    distances = []
    for t in terms:
        if t.target is None:
            continue
        try:
            columns, target = read_target(t.target, t.label, labels)
        except ValueError as exc:
            raise ConfigError(run, [f"--objective {t.label}:distance={t.target}: {exc}"]) from None
        distances.append((torch.as_tensor(columns, device=device), torch.as_tensor(target, device=device), t.weight))
    return RunObjective(objective_weights(terms, labels, run, groups).to(device), tuple(distances))
