"""SupCR / Rank-N-Contrast (Zha et al., 2023): contrastive regression on strain embeddings.

For an anchor i and every other strain j, with s = cosine similarity / τ and d = |y_i − y_j|:

    ℓ_ij = −log( exp(s_ij) / Σ_{k ≠ i, d_ik ≥ d_ij} exp(s_ik) )

averaged over all ordered pairs: strains closer in label must be closer in embedding than those
farther away. Only label *differences* enter, so a common shift of labels changes nothing.
Anchors are processed ``chunk`` at a time (memory O(chunk · B)); the denominators come from one
sort and one cumulative log-sum-exp per anchor, ties in distance included.

The embeddings are ``state.strain_embedding`` [B, e], from the head's ``Prediction``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from cellreg import Loss
from cellreg_losses.configs import SupCRConfig


class SupCRLoss(Loss):
    def __init__(self, config: SupCRConfig = SupCRConfig(), context=None) -> None:
        super().__init__()
        self.config = config
        names = tuple(context.label_names) if context is not None else ()
        if config.label and config.label not in names:
            raise ValueError(f"loss supcr: no label {config.label!r}; labels are: {', '.join(names)}")
        self.label = names.index(config.label) if config.label else 0

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state, batch=None) -> torch.Tensor:
        emb = state.strain_embedding if state is not None else None
        if emb is None:
            raise ValueError("loss supcr needs strain embeddings: the head must return them in "
                             "Prediction.strain_embedding")
        y = target[:, self.label]
        keep = torch.nonzero(~torch.isnan(y)).flatten()[: self.config.max_strains]
        if len(keep) < 2:
            return emb.sum() * 0.0
        return supcr(emb[keep], y[keep], self.config.temperature, self.config.chunk)


def supcr(emb: torch.Tensor, y: torch.Tensor, temperature: float, chunk: int = 256) -> torch.Tensor:
    z = F.normalize(emb.float(), dim=1)
    n = len(y)
    total = z.new_zeros(())
    for start in range(0, n, chunk):  # chunks of anchors bound the memory, not a loop over strains
        anchors = torch.arange(start, min(start + chunk, n), device=z.device)
        s = z[anchors] @ z.T / temperature  # [C, n]
        d = (y[anchors].unsqueeze(1) - y.unsqueeze(0)).abs()
        self_mask = anchors.unsqueeze(1) == torch.arange(n, device=z.device)
        order = torch.argsort(d, dim=1, descending=True, stable=True)
        d_sorted = torch.gather(d, 1, order)
        s_sorted = torch.gather(s.masked_fill(self_mask, float("-inf")), 1, order)
        log_cum = torch.logcumsumexp(s_sorted, dim=1)  # position r: over every k at least as far as rank r
        # For each j, the last position whose distance is still >= d_ij (ties count as "at least as far").
        count = torch.searchsorted(-d_sorted.contiguous(), -d.contiguous(), right=True)
        log_denom = torch.gather(log_cum, 1, count - 1)
        term = (log_denom - s).masked_fill(self_mask, 0.0)
        total = total + term.sum()
    return total / (n * (n - 1))
