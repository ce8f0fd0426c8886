"""Hyper-SAGNN's attention layer over the genes of one perturbation set, vectorised over a padded
batch [B, K].

Each gene attends to the *other* real members of its set (padding and itself masked out):
``dynamic_i = FF(W_o Σ_{j≠i} α_ij V x_j)``; its ``static_i = W_s V x_i`` sees only the gene. A
gene with no other member gets no attention at all; ``has_other`` tells the head which those are.

Written out rather than with ``nn.MultiheadAttention`` because the method needs what that module
does not give: per-head width independent of d (the reference uses d per head), the static
embedding from the same value projection, and rows with every key masked (singletons), for
which ``nn.MultiheadAttention`` returns NaN.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ReZeroFeedForward(nn.Module):
    """x + α · W2 swish(W1 LN(x)), α starting at 0 (the reference's residual position-wise FF)."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.SiLU(), nn.Dropout(dropout),
                                 nn.Linear(dim, dim))
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.alpha * self.net(x)


class SetAttention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, dropout_attention: float, dropout_feedforward: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.norm_q, self.norm_k, self.norm_v = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v = (nn.Linear(dim, inner, bias=False) for _ in range(3))
        for proj in (self.q, self.k, self.v):
            nn.init.normal_(proj.weight, std=math.sqrt(2.0 / (dim + head_dim)))
        self.to_dynamic = nn.Linear(inner, dim, bias=False)
        self.to_static = nn.Linear(inner, dim, bias=False)
        self.dropout = nn.Dropout(dropout_attention)
        self.feedforward = ReZeroFeedForward(dim, dropout_feedforward)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [B, K, d], mask [B, K] -> dynamic [B, K, d], static [B, K, d], has_other [B, K]."""
        b, k, _ = x.shape
        h, dh = self.heads, self.head_dim
        q = self.q(self.norm_q(x)).view(b, k, h, dh).transpose(1, 2)  # [B, h, K, dh]
        key = self.k(self.norm_k(x)).view(b, k, h, dh).transpose(1, 2)
        v = self.v(self.norm_v(x)).view(b, k, h, dh)
        not_self = ~torch.eye(k, dtype=torch.bool, device=x.device)
        others = mask.unsqueeze(1) & mask.unsqueeze(2) & not_self  # [B, K(query), K(key)]
        scores = (q @ key.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~others.unsqueeze(1), torch.finfo(scores.dtype).min)
        # A row with no allowed key gets a uniform softmax; zeroing it leaves an empty sum, 0.
        attn = torch.softmax(scores, dim=-1) * others.unsqueeze(1)
        mixed = (attn @ v.transpose(1, 2)).transpose(1, 2).reshape(b, k, h * dh)
        dynamic = self.feedforward(self.dropout(self.to_dynamic(mixed)))
        static = self.dropout(self.to_static(v.reshape(b, k, h * dh)))
        return dynamic, static, others.any(-1)
