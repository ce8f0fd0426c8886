"""Means of rows by group, NaN-aware, with one sparse product per chunk (no loop over groups)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class GroupMeans:
    """Accumulates per-group sums and measured counts of [n, F] chunks; ``groups`` numbers each row."""

    def __init__(self, num_groups: int, num_features: int) -> None:
        self.sums = np.zeros((num_groups, num_features), np.float64)
        self.counts = np.zeros((num_groups, num_features), np.float64)
        self.nan_count = 0

    def add(self, x, groups: np.ndarray) -> None:
        n = len(groups)
        indicator = sp.csr_matrix((np.ones(n), (groups, np.arange(n))), shape=(len(self.sums), n))
        if sp.issparse(x):
            x = sp.csr_matrix(x, dtype=np.float64)
            nan = np.isnan(x.data)
            self.nan_count += int(nan.sum())
            missing = sp.csr_matrix((nan.astype(np.float64), x.indices, x.indptr), shape=x.shape)
            x.data[nan] = 0.0
            self.sums += np.asarray((indicator @ x).todense())
            self.counts += np.asarray(indicator.sum(1)) - np.asarray((indicator @ missing).todense())
            return
        x = np.asarray(x, dtype=np.float64)
        nan = np.isnan(x)
        self.nan_count += int(nan.sum())
        self.sums += indicator @ np.where(nan, 0.0, x)
        self.counts += indicator @ (~nan).astype(np.float64)

    def means(self) -> np.ndarray:
        """[groups, F]; NaN where a group measured a feature in no row."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.counts > 0, self.sums / np.maximum(self.counts, 1), np.nan)


def group_means(x: np.ndarray, groups: np.ndarray, num_groups: int) -> tuple[np.ndarray, int]:
    """(means [num_groups, F], NaN entries in ``x``) for an in-memory matrix."""
    acc = GroupMeans(num_groups, x.shape[1])
    acc.add(x, groups)
    return acc.means(), acc.nan_count
