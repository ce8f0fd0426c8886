"""Per-gene profile head: one output per gene token, read out from the token and the perturbation
summary, so a profile over genes (expression) is predicted gene by gene, and a gene added at
predict time gets its own entry too (:meth:`PerGeneHead.per_gene`).

    s_S  = MLP([h_CLS ‖ z_S ‖ q_S])             the cross-attention head's summary, rank r
    ŷ_g  = s_Sᵀ V(h_g) + c_g + a(m_g)·[g ∈ S]   for every gene token g

V is an MLP from a token to r; c_g a bias per feature; a(m) a learned change of a perturbed
gene's own feature, per perturbation type (a deleted gene's transcript disappears). Features that
name no gene (``<group>:<feature>`` with a feature outside the vocabulary, e.g. morphology) get a
free key vector instead of V(h_g). Cost per step: O(N'·d·r) for the keys, O(B·N'·r) for the
product; no [B, N', d] tensor and no loop over strains or features.
"""

from __future__ import annotations

import attrs
import numpy as np
import torch
from torch import nn
from torch_geometric.nn import MLP

from cellreg import Batch, CellState, Context, Perturbation, PerturbationHead, Prediction
from cellreg.data.profiles import SEPARATOR
from cellreg.toolkit.gene_names import GeneNames
from cellreg_transformer.config import CrossAttentionHeadConfig
from cellreg_transformer.head import CrossAttentionHead
from cellreg_transformer.profile_config import PerGeneHeadConfig


def feature_genes(label_names, genes) -> np.ndarray:
    """Per label, the vocabulary index of the gene its feature names (``<group>:<gene>``), -1 for none."""
    names = GeneNames(genes, {})
    return np.array([names.one(n.split(SEPARATOR, 1)[-1]) for n in label_names], np.int64)


class PerGeneHead(PerturbationHead):
    def __init__(self, config: PerGeneHeadConfig, context: Context) -> None:
        super().__init__()
        d, r = context.encoder.dim, config.rank
        inner = CrossAttentionHeadConfig(pool=config.pool, hidden=config.hidden, layers=config.layers,
                                         dropout=config.dropout)
        self.summary = CrossAttentionHead(inner, attrs.evolve(context, label_names=tuple(f"r{i}" for i in range(r))))
        self.embedding_dim = self.summary.embedding_dim
        self.key = MLP([d, d, r], dropout=config.dropout, norm=None)
        gene_of = feature_genes(context.label_names, context.graph.genes)
        free = np.flatnonzero(gene_of < 0)
        self.free_key = nn.Parameter(torch.randn(len(free), r) * 0.1)
        # label j reads gene token gene_of[j], or (gene_of[j] = -1) the free key free_slot[j]
        self.register_buffer("gene_of", torch.from_numpy(gene_of), persistent=False)
        self.register_buffer("free_slot", torch.from_numpy(np.searchsorted(free, np.arange(len(gene_of)))),
                             persistent=False)
        self.bias = nn.Parameter(torch.zeros(len(gene_of)))
        self.self_effect = nn.Embedding(len(Perturbation), 1) if config.self_effect else None
        if self.self_effect is not None:
            nn.init.zeros_(self.self_effect.weight)

    def _by_gene(self, s: torch.Tensor, state: CellState, batch: Batch) -> torch.Tensor:
        out = s @ self.key(state.genes).T  # [B, N']
        if self.self_effect is not None:
            own = self.self_effect(batch["kinds"]).squeeze(-1) * batch["mask"]
            out = out.scatter_add(1, batch["genes"], own.to(out.dtype))
        return out

    def per_gene(self, state: CellState, batch: Batch) -> torch.Tensor:
        """[B, N'] one value per gene token (added genes included), before the features' biases."""
        return self._by_gene(self.summary(state, batch).values, state, batch)

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        summary = self.summary(state, batch)
        s = summary.values  # [B, r]
        values = self._by_gene(s, state, batch)[:, self.gene_of.clamp(min=0)]
        if len(self.free_key):
            free = s @ self.free_key.T  # [B, free features]
            values = torch.where(self.gene_of >= 0, values, free[:, self.free_slot.clamp(max=len(self.free_key) - 1)])
        return Prediction(values + self.bias, strain_embedding=summary.strain_embedding)

    @torch.no_grad()
    def explain(self, state: CellState, batch: Batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The genes the summary's attention β(S) weighs most (as ``cross_attention`` explains)."""
        return self.summary.explain(state, batch, k)
