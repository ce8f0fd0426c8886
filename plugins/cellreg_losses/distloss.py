"""DistLoss (Nie et al., 2024): match the distribution of predictions to that of the labels.

Per label: a Gaussian kernel density estimate of the labels (the batch's, or a running buffer's)
on ``bins`` grid points gives a CDF; its quantiles at (i + ½)/n are n pseudo-labels; the loss is
the mean squared (or absolute) difference between the sorted predictions and those pseudo-labels.
It pulls the *histogram* of predictions toward the labels' — against the regression to the mean
that squeezes rare, large interactions — and is usually added to a pointwise term.
"""

from __future__ import annotations


import attrs
import torch
from cellreg import Loss
from cellreg_losses.configs import DistLossConfig

_positive = attrs.validators.gt(0)


def kde_quantiles(samples: torch.Tensor, n: int, bins: int, bandwidth: float) -> torch.Tensor:
    """n pseudo-labels: quantiles (i + ½)/n of a Gaussian KDE of ``samples``, interpolated on a grid."""
    if bandwidth <= 0:
        std = samples.std() if len(samples) > 1 else samples.new_tensor(1.0)
        bandwidth = float(1.06 * std.clamp(min=1e-6) * len(samples) ** -0.2)
    lo, hi = samples.min() - 3 * bandwidth, samples.max() + 3 * bandwidth
    grid = torch.linspace(0, 1, bins, device=samples.device, dtype=samples.dtype) * (hi - lo) + lo
    density = torch.exp(-0.5 * ((grid.unsqueeze(1) - samples.unsqueeze(0)) / bandwidth) ** 2).sum(1)
    cdf = torch.cumsum(density, 0)
    cdf = cdf / cdf[-1]
    q = (torch.arange(n, device=samples.device, dtype=samples.dtype) + 0.5) / n
    idx = torch.searchsorted(cdf, q).clamp(1, bins - 1)
    c0, c1 = cdf[idx - 1], cdf[idx]
    t = ((q - c0) / (c1 - c0).clamp(min=1e-12)).clamp(0, 1)
    return grid[idx - 1] + t * (grid[idx] - grid[idx - 1])


class DistLoss(Loss):
    def __init__(self, config: DistLossConfig = DistLossConfig(), context=None) -> None:
        super().__init__()
        self.config = config
        n_labels = len(context.label_names) if context is not None else 1
        if config.buffer_size:
            # The last ``count[j]`` training labels of label j, oldest first, right-aligned in row j.
            # Fixed shapes, registered: saved with the weights, so a resumed run sees the same buffer.
            self.register_buffer("label_buffer", torch.zeros(n_labels, config.buffer_size))
            self.register_buffer("label_count", torch.zeros(n_labels, dtype=torch.long))

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state=None, batch=None) -> torch.Tensor:
        c = self.config
        parts = []
        for j in range(target.shape[1]):
            measured = ~torch.isnan(target[:, j])
            y, p = target[measured, j], pred[measured, j]
            if len(y) < 2:
                continue
            source = y
            if c.buffer_size:
                kept = self.label_buffer[j, c.buffer_size - int(self.label_count[j]):]
                source = torch.cat([kept.to(y), y.detach()])[-c.buffer_size:]
                if self.training:  # evaluation labels never enter the reference distribution
                    with torch.no_grad():
                        self.label_buffer[j, c.buffer_size - len(source):] = source
                        self.label_count[j] = len(source)
            pseudo = kde_quantiles(source.detach(), len(p), c.bins, c.bandwidth)
            diff = torch.sort(p).values - pseudo
            parts.append(diff.abs().mean() if c.distance == "l1" else (diff ** 2).mean())
        return torch.stack(parts).mean() if parts else pred.sum() * 0.0
