"""The graph prior of one attention head: row-wise KL(Ã_i,: ‖ α_i,:) on sampled rows, never N × N.

For a sampled gene i with d_i neighbours, Ã_ij = 1/d_i on its edges, so

    KL_i = -log d_i - mean_{j ∈ N(i)} log α_ij,   log α_ij = l_ij - log Z_i,   l_ij = q_i·k_j / √d_h.

Only gene keys count (the [CLS] column is left out, design §5). Z_i sums exp(l_ij) over every gene;
it is estimated from the row's edges (all of them, or ``max_positives`` drawn with replacement for
hubs, scaled by d_i / P) plus ``negatives`` genes drawn uniformly from the non-neighbours (scaled by
(N - d_i) / accepted). Per row that is O((P + m) · d_h) work: no dense adjacency and no attention
row outside the sampled ones. Genes with no edge in the relation (and genes added later) are never
sampled rows, so they stay out of the loss (the validity mask of the design).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cellreg import Relation


class GraphPrior(nn.Module):
    def __init__(self, relation: Relation, num_genes: int, rows: int, max_positives: int, negatives: int) -> None:
        super().__init__()
        edges = relation.message_index()  # out-edges for directed relations, both ways otherwise
        src, dst = edges
        order = torch.argsort(src * num_genes + dst)
        src, dst = src[order], dst[order]
        degree = torch.bincount(src, minlength=num_genes)
        self.register_buffer("indptr", torch.cat([degree.new_zeros(1), degree.cumsum(0)]), persistent=False)
        self.register_buffer("indices", dst, persistent=False)
        self.register_buffer("keys", src * num_genes + dst, persistent=False)  # sorted: membership by search
        self.register_buffer("degree", degree, persistent=False)
        self.register_buffer("valid_rows", torch.nonzero(degree > 0).flatten(), persistent=False)
        self.name, self.num_genes = relation.name, num_genes
        self.rows, self.max_positives, self.negatives = rows, max_positives, negatives

    def is_edge(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Whether (rows[..., None] → cols) is an edge, by binary search in the sorted edge keys."""
        key = rows.unsqueeze(-1) * self.num_genes + cols
        pos = torch.searchsorted(self.keys, key).clamp(max=len(self.keys) - 1)
        return self.keys[pos] == key

    def sample_rows(self, count: int) -> torch.Tensor:
        pick = torch.randint(len(self.valid_rows), (count,), device=self.valid_rows.device)
        return self.valid_rows[pick]

    def kl(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Mean KL over ``rows`` sampled rows for one head; ``q``, ``k``: [N, d_h] gene queries and keys."""
        return self.kl_rows(q, k, self.sample_rows(self.rows)).mean()

    def kl_rows(self, q: torch.Tensor, k: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Estimated KL(Ã_i ‖ α_i) for each of ``rows`` (genes with at least one edge): [R]."""
        device = q.device
        deg = self.degree[rows]  # [R]
        p = self.max_positives
        slot = torch.arange(p, device=device)
        hub = deg > p
        offset = torch.where(hub.unsqueeze(1), (torch.rand(len(rows), p, device=device) * deg.unsqueeze(1)).long(),
                             slot.expand(len(rows), p))
        pos_mask = hub.unsqueeze(1) | (slot < deg.unsqueeze(1))
        pos = self.indices[(self.indptr[rows].unsqueeze(1) + offset).clamp(max=len(self.indices) - 1)]
        neg = torch.randint(self.num_genes, (len(rows), self.negatives), device=device)
        neg_mask = ~self.is_edge(rows, neg)

        scale = 1.0 / math.sqrt(q.shape[-1])
        qr = q[rows].unsqueeze(1)  # [R, 1, d]
        l_pos = (qr * k[pos]).sum(-1) * scale  # [R, P]
        l_neg = (qr * k[neg]).sum(-1) * scale  # [R, m]
        n_pos = pos_mask.sum(1).clamp(min=1)
        n_neg = neg_mask.sum(1).clamp(min=1)
        w_pos = torch.log(deg.float() / n_pos)  # each drawn edge stands for d / P edges
        w_neg = torch.log((self.num_genes - deg).float() / n_neg)  # each accepted non-edge for (N - d) / m
        neg_inf = torch.finfo(l_pos.dtype).min
        log_z = torch.logsumexp(torch.cat([
            torch.where(pos_mask, l_pos + w_pos.unsqueeze(1), neg_inf),
            torch.where(neg_mask, l_neg + w_neg.unsqueeze(1), neg_inf),
        ], dim=1), dim=1)
        mean_pos = torch.where(pos_mask, l_pos, 0.0).sum(1) / n_pos
        return -torch.log(deg.float()) - mean_pos + log_z

    @torch.no_grad()
    def precision_at_k(self, logits: torch.Tensor, rows: torch.Tensor, k: int) -> tuple[float, float]:
        """How well full attention rows recover the graph: |top-k ∩ N(i)| / min(k, d_i), averaged,
        and what uniformly random attention would score (d_i / N on average)."""
        logits = logits.clone()
        logits[torch.arange(len(rows)), rows] = float("-inf")  # a gene attending to itself is not a neighbour
        top = logits.topk(min(k, logits.shape[1] - 1), dim=1).indices
        hits = self.is_edge(rows, top).sum(1).float()
        deg = self.degree[rows].float()
        precision = (hits / deg.clamp(max=k)).mean()
        random = (deg / (self.num_genes - 1) * k / deg.clamp(max=k)).mean()
        return float(precision), float(random)
