"""The HyperSAGNN head: a set's score from how much each member's context-aware (dynamic)
embedding departs from its own (static) one.

    s_i = LN(static_i),  d_i = LN(dynamic_i)      (set_attention.py)
    y_i = W (d_i - s_i)^2 + b                     per gene, one output per label
    y_S = mean_{i in S} y_i

The square is what the method describes; the public DANGO code skips it by accident (it tests
``diag_mask == 'True'`` on a boolean, so ``output = dynamic``) and sums rather than averages over
the set. A gene with no other member (a set of size 1) has ``d_i := s_i``, so a single mutant
scores exactly ``b``: no partner, no interaction.
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Batch, CellState, Context, Perturbation, PerturbationHead, Prediction
from cellreg_dango.records import JointSchedule
from cellreg_dango.set_attention import SetAttention
from cellreg_dango.configs import HyperSAGNNConfig


class HyperSAGNNHead(PerturbationHead):
    def __init__(self, config: HyperSAGNNConfig, context: Context) -> None:
        super().__init__()
        dim = context.encoder.dim
        # Deletions (DANGO's only kind) add nothing; other kinds learn an offset.
        self.kind = nn.Embedding(len(Perturbation), dim, padding_idx=int(Perturbation.DELETION))
        nn.init.zeros_(self.kind.weight)
        self.attention = SetAttention(dim, config.heads, config.head_dim or dim, config.dropout_attention,
                                      config.dropout_feedforward)
        self.norm_dynamic, self.norm_static = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout = nn.Dropout(config.dropout_output)
        self.out = nn.Linear(dim, len(context.label_names))  # one read-out per label
        self.embedding_dim = dim

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        """[B, L]. In training, the :class:`JointSchedule`'s factor (1 if absent) gates the
        gradient: 0 runs the head without autograd (pretraining: prediction losses train nothing),
        f in (0, 1) passes f times the gradient while the value stays the same. (Multi-process
        training copes with the unused head: the trainer sets DDP's ``find_unused_parameters``.)"""
        schedule = state.extra(JointSchedule)
        factor = schedule.main_factor if schedule is not None else 1.0
        if self.training and factor == 0.0:
            with torch.no_grad():
                out, pooled = self.score(state.genes, batch)
        else:
            out, pooled = (_gate(t, factor) if self.training else t for t in self.score(state.genes, batch))
        return Prediction(out, strain_embedding=pooled)  # the embedding: for terms such as supcr

    def score(self, genes: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(predictions [B, L], the set's mean squared-difference features [B, d])."""
        mask = batch["mask"]
        x = genes[batch["genes"]] + self.kind(batch["kinds"])  # [B, K, d]
        dynamic, static, has_other = self.attention(x, mask)
        diff = torch.where(has_other.unsqueeze(-1), self.norm_dynamic(dynamic) - self.norm_static(static), 0.0)
        features = self.dropout(diff ** 2)  # [B, K, d]
        m = mask.unsqueeze(-1).to(features.dtype)
        count = m.sum(1).clamp(min=1)
        return (self.out(features) * m).sum(1) / count, (features * m).sum(1) / count


def _gate(t: torch.Tensor, factor: float) -> torch.Tensor:
    """Same value, ``factor`` times the gradient."""
    return t if factor == 1.0 else factor * t + (1.0 - factor) * t.detach()
