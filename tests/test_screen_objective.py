"""The screen's per-run top K (the agreement thresholds): a NaN objective is no rank."""

import math

import torch

from cellreg.screen.objective import running_top


def test_a_nan_objective_is_never_among_a_runs_best():
    best = torch.full((2, 0), -torch.inf)
    best = running_top(best, torch.tensor([[1.0, math.nan, 3.0], [0.5, 0.25, math.nan]]), top=2)
    best = running_top(best, torch.tensor([[math.nan, 2.0], [0.125, 0.375]]), top=2)
    assert best.tolist() == [[3.0, 2.0], [0.5, 0.375]]
    # the agreement thresholds are each run's K-th best: numbers, so designs can meet them
    assert best[:, -1].tolist() == [2.0, 0.375]


def test_fewer_designs_than_top_keep_what_there_is():
    best = running_top(torch.full((1, 0), -torch.inf), torch.tensor([[math.nan, 1.0]]), top=5)
    assert best.tolist() == [[1.0, -math.inf]]
