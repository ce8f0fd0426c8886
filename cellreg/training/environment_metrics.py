"""Test metrics per environment value, beside the overall ones: a model that is right at 30 °C and
wrong at 26 °C should say so, and a held-out-environment split is judged on the held-out values."""

from __future__ import annotations

import numpy as np

from cellreg.config.split_config import SplitConfig
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.training.group_metrics import score_groups


def metrics_by_environment(table: PhenotypeTable, rows: np.ndarray, pred: np.ndarray, obs: np.ndarray,
                           split: SplitConfig) -> dict[str, dict]:
    """``{"temperature=26": metrics, ...}`` over ``rows`` (in the order of ``pred`` and ``obs``):
    grouped by the held-out column for an ``environment`` split, else by the whole environment.
    Empty for a table without one."""
    if not table.environment:
        return {}
    env = table.environment.select(rows)
    if split.kind == "environment":
        column = env.column(split.environment)
        text = column.name + "=" + column.text()
    else:
        text = env.text()
    names, which = np.unique(text.astype(str), return_inverse=True)
    return {str(name): {**score_groups(pred[which == i], obs[which == i], table.label_names, table.label_groups),
                        "strains": int((which == i).sum())} for i, name in enumerate(names)}
