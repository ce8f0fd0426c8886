"""Profile losses: MSE or a Gaussian negative log-likelihood per feature, with an optional direction
term (GEARS adds one to its loss), on standardized changes from the reference.

A profile's changes are scaled about 0 (:mod:`cellreg.data.profiles`), so the sign of a target is
the sign of the raw change, and the direction term can penalise a prediction on the wrong side of
"no change": ``relu(-sign(y) * ŷ)``, a hinge that is 0 on the right side and grows with the
distance on the wrong one (GEARS's ``(sign(y) - sign(ŷ))²`` has no gradient). NaN targets are
masked per feature, as in every regression term.
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Loss
from cellreg_losses.configs import ProfileLossConfig
from cellreg_losses.masked import masked_mean, residual


class ProfileLoss(Loss):
    def __init__(self, config: ProfileLossConfig, context) -> None:
        super().__init__()
        self.config = config
        labels = len(context.label_names) if context is not None else 0
        # the Gaussian's log-variance per feature, learned (0: unit variance, where MSE/2 sits)
        self.log_var = nn.Parameter(torch.zeros(labels)) if config.likelihood == "gaussian" else None

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state=None, batch=None) -> torch.Tensor:
        r2 = residual(pred, target) ** 2
        if self.log_var is None:
            per_entry = r2
        else:
            log_var = self.log_var.clamp(-self.config.max_log_var, self.config.max_log_var)
            per_entry = 0.5 * (log_var + r2 * torch.exp(-log_var))
        loss = masked_mean(per_entry, target)
        if self.config.direction:
            sign = torch.sign(torch.nan_to_num(target))
            loss = loss + self.config.direction * masked_mean(torch.relu(-sign * pred), target)
        return loss
