"""Environment encoders, one column each (the core concatenates them; cellreg.training.environment).

* ``category_embedding``: a learned embedding per value seen in training plus an "unknown" slot for a
  value never seen (the core's schema maps it there and says so).
* ``standardized``: the value standardized on training rows, through a small MLP (NaN -> 0, the mean).
* ``dose_response``: CPA's generalized sigmoid per compound,
  ``s_c(d) = sigmoid(beta_c * log1p(d) + b_c) - sigmoid(b_c)``, exactly 0 at dose 0, scaling a
  learned compound embedding: a drug at dose 0 is the untreated condition, whatever the drug.
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Context, EnvironmentEncoder
from cellreg_environment_encoders.configs import EncoderWidth


def unknown_last(seen: int, dim: int) -> nn.Embedding:
    """An embedding for ``seen`` training values plus the unknown slot, which starts at 0 and, never
    used in training, stays there: a value never seen adds nothing rather than random noise."""
    embedding = nn.Embedding(seen + 1, dim)
    with torch.no_grad():
        embedding.weight[seen].zero_()
    return embedding


class Categorical(EnvironmentEncoder):
    kinds = ("categorical",)

    def __init__(self, config: EncoderWidth, context: Context) -> None:
        super().__init__()
        self.dim = config.dim
        self.embedding = unknown_last(len(context.environment_column.categories), config.dim)

    def forward(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.embedding(codes)


class Numeric(EnvironmentEncoder):
    kinds = ("numeric",)

    def __init__(self, config: EncoderWidth, context: Context) -> None:
        super().__init__()
        column = context.environment_column
        self.dim = config.dim
        self.register_buffer("mean", torch.tensor(column.mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(column.std, dtype=torch.float32))
        self.mlp = nn.Sequential(nn.Linear(1, config.dim), nn.GELU(), nn.Linear(config.dim, config.dim))

    def forward(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        x = torch.nan_to_num((values.float() - self.mean) / self.std, nan=0.0)
        return self.mlp(x[:, None])


class DoseResponse(EnvironmentEncoder):
    kinds = ("dose",)

    def __init__(self, config: EncoderWidth, context: Context) -> None:
        super().__init__()
        column = context.environment_column
        n = len(column.categories) + 1  # + unknown compound
        self.dim = config.dim
        self.register_buffer("scale", torch.tensor(max(column.std, 1e-6) + abs(column.mean), dtype=torch.float32))
        self.embedding = unknown_last(n - 1, config.dim)
        self.beta = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))

    def response(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """[B] s_c(d): 0 at dose 0, rising with log dose (log1p scaled by the training doses' spread)."""
        log_dose = torch.log1p(torch.nan_to_num(values.float(), nan=0.0).clamp_min(0)) / self.scale
        b = self.bias[codes]
        return torch.sigmoid(self.beta[codes] * log_dose + b) - torch.sigmoid(b)

    def forward(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        return self.response(values, codes)[:, None] * self.embedding(codes)
