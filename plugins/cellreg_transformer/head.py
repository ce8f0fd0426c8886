"""Perturbation head g(h_CLS, H, M(S)) (seed report 001, §4), vectorised over the batch.

    q_S = pool{h_i + e(m_i) : i ∈ S}            mean, sum or attention pooling
    β(S) = softmax_i(q_Sᵀ W h_i)                 over every gene (added ones included)
    z_S = Σ_i β_i φ(h_i, m_i)                    m_i = "unperturbed" for genes outside S
    ŷ  = MLP([h_CLS ‖ z_S])                      (‖ q_S with use_query)

φ(h, m) = MLP(h + e(m)). Only the genes in S have a strain-specific m_i, so
z_S = β Φ₀ + Σ_{i∈S} β_i (φ(h_i, m_i) − φ(h_i, unperturbed)) with Φ₀ = φ(H, unperturbed) computed
once per step: O(B·N·d) for the scores and β Φ₀, O(B·K·d) for the set, never a [B, N, d] tensor.
"""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MLP

from cellreg import CellState, Context, Perturbation, PerturbationHead, Prediction
from cellreg_transformer.config import CrossAttentionHeadConfig

UNPERTURBED = len(Perturbation)  # the type code of a gene the strain leaves alone


def pairwise_products(members: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ_{i<j} x_i ⊙ x_j over each set's members [B, K, d] -> [B, d], as ((Σ x)² − Σ x²) / 2: no loop
    over pairs, and 0 for a set of one."""
    x = members * mask.unsqueeze(-1).to(members.dtype)
    return 0.5 * (x.sum(1) ** 2 - (x ** 2).sum(1))


class AdditivePath(nn.Module):
    """The additive baseline inside the head: a free vector per gene of the organism plus a type
    vector, summed over the set, then an MLP. Genes added at predict time contribute their type only."""

    def __init__(self, num_genes: int, dim: int, hidden: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.num_genes = num_genes
        self.gene = nn.Embedding(num_genes + 1, dim, padding_idx=num_genes)  # the last row: any added gene
        nn.init.normal_(self.gene.weight, std=0.1)
        with torch.no_grad():
            self.gene.weight[num_genes].zero_()
        self.kind = nn.Embedding(len(Perturbation), dim)
        nn.init.zeros_(self.kind.weight)
        self.mlp = MLP([dim, hidden, labels], dropout=dropout, norm=None)

    def forward(self, batch) -> torch.Tensor:
        genes = batch["genes"].clamp(max=self.num_genes)
        members = self.gene(genes) + self.kind(batch["kinds"])
        return self.mlp((members * batch["mask"].unsqueeze(-1)).sum(1))


class CrossAttentionHead(PerturbationHead):
    def __init__(self, config: CrossAttentionHeadConfig, context: Context) -> None:
        super().__init__()
        d = context.encoder.dim
        self.config = config
        self._phi0: tuple | None = None  # (state, versions, Φ₀) of the last eval-mode call: unperturbed()
        self.kind = nn.Embedding(len(Perturbation) + 1, d)
        nn.init.normal_(self.kind.weight, std=0.02)
        self.score = nn.Linear(d, d, bias=False)  # W in q_Sᵀ W h_i
        self.phi = MLP([d, d, d], dropout=config.dropout, norm=None)
        if config.pool == "attention":
            self.pool_query = nn.Linear(d, 1, bias=False)
        inputs = d * (2 + config.use_query + config.pairwise)
        self.embedding_dim = inputs - d  # everything but the shared h_CLS
        labels = len(context.label_names)
        self.mlp = MLP([inputs] + [config.hidden] * (config.layers - 1) + [labels], dropout=config.dropout, norm=None)
        if config.additive:
            self.additive = AdditivePath(context.graph.num_genes, config.additive_dim, config.hidden, labels,
                                         config.dropout)
            nn.init.zeros_(self.mlp.lins[-1].weight)  # the attention path starts as a correction of 0
            nn.init.zeros_(self.mlp.lins[-1].bias)

    def pool(self, members: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """members [B, K, d], mask [B, K] → q_S [B, d]; order-free."""
        m = mask.unsqueeze(-1).to(members.dtype)
        if self.config.pool == "sum":
            return (members * m).sum(1)
        if self.config.pool == "mean":
            return (members * m).sum(1) / m.sum(1).clamp(min=1)
        logits = self.pool_query(members).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(logits, dim=1).nan_to_num(0.0)  # an empty set pools to 0
        return (weights.unsqueeze(-1) * members).sum(1)

    def attention(self, state: CellState, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(q_S [B, d], β [B, N'], set members h_i + e(m_i) [B, K, d])."""
        genes, kinds, mask = batch["genes"], batch["kinds"], batch["mask"]
        members = state.genes[genes] + self.kind(kinds)
        q = self.pool(members, mask)
        beta = torch.softmax(self.score(q) @ state.genes.T, dim=1)
        return q, beta, members

    def unperturbed(self, h: torch.Tensor) -> torch.Tensor:
        """Φ₀ = φ(H, unperturbed) [N', d]: once per step; without autograd in eval mode, kept while
        the state ``h`` (the same tensor, unchanged) and the weights stay the same, so scoring many
        batches against one wild-type state (``cellreg screen``) computes it once."""
        if self.training or torch.is_grad_enabled():
            return self.phi(h + self.kind.weight[UNPERTURBED])
        key = (h._version, tuple(p._version for p in self.parameters()))
        cached = self._phi0
        if cached is None or cached[0] is not h or cached[1] != key:
            cached = self._phi0 = (h, key, self.phi(h + self.kind.weight[UNPERTURBED]))
        return cached[2]

    def forward(self, state: CellState, batch) -> Prediction:
        h, genes, mask = state.genes, batch["genes"], batch["mask"]
        q, beta, members = self.attention(state, batch)
        phi0 = self.unperturbed(h)  # [N', d], once per step
        z = beta @ phi0
        correction = self.phi(members) - phi0[genes]  # [B, K, d]
        z = z + ((beta.gather(1, genes) * mask).unsqueeze(-1) * correction).sum(1)
        parts = [state.cell.expand(len(z), -1), z] + ([q] if self.config.use_query else [])
        if self.config.pairwise:
            parts.append(pairwise_products(members, mask))
        embedding = torch.cat(parts[1:], dim=1)  # per strain (h_CLS is shared)
        values = self.mlp(torch.cat(parts, dim=1))
        if self.config.additive:
            values = values + self.additive(batch)
        return Prediction(values, strain_embedding=embedding)

    @torch.no_grad()
    def explain(self, state: CellState, batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The genes β(S) weighs most, per strain: (indices [B, k], weights [B, k])."""
        _, beta, _ = self.attention(state, batch)
        top = beta.topk(min(k, beta.shape[1]), dim=1)
        return {"perturbation_head": (top.indices, top.values)}
