"""Per-label standardization fitted on training rows only; every reported number is inverted back."""

from __future__ import annotations

import attrs
import numpy as np
import torch


@attrs.frozen
class LabelScaler:
    mean: np.ndarray  # [L]
    std: np.ndarray  # [L]

    @classmethod
    def fit(cls, labels: np.ndarray, uncentered: np.ndarray | None = None) -> "LabelScaler":
        """Mean and sd per label over the given (training) rows, NaN ignored.

        A label with no measured value or zero spread keeps scale 1, so it never divides by 0.
        ``uncentered`` [L] bool marks labels scaled about 0 instead (mean 0, root mean square as
        the scale): a profile's changes, so that 0 stays "no change" in standardized units.
        """
        labels = np.asarray(labels)
        if labels.dtype != np.float64:  # float32 rows stay float32 (no 16 M-row float64 copy); sums are float64
            labels = labels.astype(np.float32, copy=False)
        missing = np.isnan(labels)
        count = len(labels) - missing.sum(0)
        safe = np.where(missing, labels.dtype.type(0), labels)
        mean = np.where(count > 0, safe.sum(0, dtype=np.float64) / np.maximum(count, 1), 0.0)
        if uncentered is not None:
            mean = np.where(uncentered, 0.0, mean)
        safe -= mean.astype(labels.dtype)
        safe[missing] = 0
        var = np.square(safe, out=safe).sum(0, dtype=np.float64) / np.maximum(count, 1)
        std = np.sqrt(var)
        std = np.where(std > 1e-12, std, 1.0)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def transform(self, labels):
        return (labels - self._like(self.mean, labels)) / self._like(self.std, labels)

    def inverse(self, scaled):
        return scaled * self._like(self.std, scaled) + self._like(self.mean, scaled)

    @staticmethod
    def _like(v: np.ndarray, x):
        if isinstance(x, torch.Tensor):
            return torch.as_tensor(v, dtype=x.dtype, device=x.device)
        return v

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelScaler":
        return cls(np.asarray(d["mean"], np.float32), np.asarray(d["std"], np.float32))
