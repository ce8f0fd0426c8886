"""What a screen ranks by: a weighted sum of labels in raw units, higher is better, and how
several runs' values of it combine into one score.

``--objective LABEL:max|min[:WEIGHT]`` (repeatable): ``objective = Σ ± weight · label`` (+ for max,
− for min). Across R runs: the mean and sample sd of the runs' objectives, and
``score = mean − cautious · sd`` (``cautious = 0``: the mean; 1 or 2: designs the runs agree on).
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


def parse_objectives(texts: Sequence[str]) -> list[Term]:
    """``["fitness:max", "interaction:min:2"]`` -> terms; a malformed one is a ConfigError."""
    terms, errors = [], []
    for text in texts:
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or parts[1] not in DIRECTIONS:
            errors.append(f"{text!r}: expected LABEL:max|min[:WEIGHT], e.g. fitness:max or interaction:min:2")
            continue
        try:
            weight = float(parts[2]) if len(parts) == 3 else 1.0
        except ValueError:
            errors.append(f"{text!r}: the weight {parts[2]!r} is not a number")
            continue
        if not weight > 0:
            errors.append(f"{text!r}: the weight must be > 0 (use min instead of max to reverse a label)")
            continue
        terms.append(Term(parts[0], DIRECTIONS[parts[1]], weight))
    if errors:
        raise ConfigError("--objective", errors)
    return terms


def objective_weights(terms: Sequence[Term], labels: Sequence[str], run: str,
                      groups: Sequence[LabelGroup] = ()) -> torch.Tensor:
    """[L] signed weights over one run's labels; a label the run lacks is a ConfigError."""
    weights = torch.zeros(len(labels))
    for t in terms:
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
        choices = list(dict.fromkeys([*labels, *(g.name for g in groups)]))
        raise ConfigError(run, [f"--objective {name}: the run has no label or label group {name!r}"
                                f"{suggest(name, choices)}; its labels: {', '.join(choices[:20])}"
                                f"{' ...' if len(choices) > 20 else ''}"])
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
