"""The graph-regularized transformer cell encoder: F(G) over tokens [CLS] + genes, once per step.

No positional encoding: gene order carries no meaning, and added genes are just more tokens.
Every head's output comes from fused attention (``scaled_dot_product_attention``); a head tied to
a graph additionally hands its queries and keys for the genes to a :class:`GraphPrior`, which
scores sampled attention rows against the graph.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cellreg import CellState, Context, Encoder
from cellreg_transformer.config import GraphHead, TransformerConfig
from cellreg_transformer.graph_prior import GraphPrior
from cellreg_transformer.records import GraphKL

LayerHook = Callable[[int, torch.Tensor, torch.Tensor], None]  # (layer, q, k) with q, k: [H, T, d_h]


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int, ffn_mult: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.heads, self.attention_dropout = heads, attention_dropout
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_mult * dim), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(ffn_mult * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: [T, d] → (x', q, k) with q, k: [H, T, d_h]."""
        t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(t, 3, self.heads, d // self.heads).permute(1, 2, 0, 3)
        # 4-D inputs and no dropout on attention weights keep the fused (flash) kernel on CPU too:
        # otherwise SDPA falls back to the math path and builds a T x T matrix per head.
        p = self.attention_dropout if self.training else 0.0
        attn = F.scaled_dot_product_attention(q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0), dropout_p=p)[0]
        x = x + self.drop(self.out(attn.transpose(0, 1).reshape(t, d)))
        x = x + self.drop(self.ffn(self.norm2(x)))
        return x, q, k


def default_graph_heads(relations: list[str], layers: int, heads: int) -> list[GraphHead]:
    """Relation k on layer k // heads, head k % heads: early layers first, one head per relation."""
    if len(relations) > layers * heads:
        raise ValueError(f"model.encoder: {len(relations)} relations need {len(relations)} graph-tied heads, but the "
                         f"model has {layers} layer(s) x {heads} heads; add heads or layers, or list graph_heads")
    return [GraphHead(name, layer=i // heads, head=i % heads) for i, name in enumerate(relations)]


class TransformerEncoder(Encoder):
    per_strain = False
    provides = (GraphKL,)

    def __init__(self, config: TransformerConfig, context: Context) -> None:
        super().__init__()
        graph = context.graph
        self.config, self.dim, self.num_genes = config, config.dim, graph.num_genes
        self.gene_names = graph.genes
        features = graph.gene_features if config.use_features else None
        if features is not None:
            self.register_buffer("features", features.float(), persistent=False)
            self.project = nn.Linear(features.shape[1], config.dim)
        self.embedding = nn.Parameter(torch.randn(graph.num_genes, config.dim) * 0.1)
        self.cls = nn.Parameter(torch.zeros(1, config.dim))
        self.new_gene = nn.Parameter(torch.zeros(1, config.dim))  # the "fresh token" of an added gene
        self.blocks = nn.ModuleList(Block(config.dim, config.heads, config.ffn_mult, config.dropout,
                                          config.attention_dropout)
                                    for _ in range(config.layers))
        self.norm = nn.LayerNorm(config.dim)
        ties = config.graph_heads if config.graph_heads is not None else \
            default_graph_heads(list(graph.relations), config.layers, config.heads)
        for gh in ties:
            if gh.relation not in graph.relations:
                raise ValueError(f"model.encoder.graph_heads: relation {gh.relation!r} is not in the graph; "
                                 f"relations: {', '.join(graph.relations)}")
            if gh.layer >= config.layers:
                raise ValueError(f"model.encoder.graph_heads: {gh.relation} on layer {gh.layer}, but the model "
                                 f"has {config.layers} layers")
        self.ties = list(ties)
        # A relation may tie several heads; each is regularized and reported on its own.
        tied = [gh.relation for gh in self.ties]
        self.tie_names = [gh.relation if tied.count(gh.relation) == 1 else f"{gh.relation}@layer{gh.layer}.head{gh.head}"
                          for gh in self.ties]
        self.priors = nn.ModuleDict({
            gh.relation: GraphPrior(graph.relations[gh.relation], graph.num_genes, config.rows,
                                    config.max_positives, config.negatives) for gh in self.ties})
        self.added: torch.Tensor | None = None  # [A, d] tokens of genes the organism never had

    # -- tokens ------------------------------------------------------------------------------------
    def gene_tokens(self) -> torch.Tensor:
        x = self.embedding
        if hasattr(self, "features"):
            x = x + self.project(self.features)
        return x

    def add_genes(self, count: int, features: torch.Tensor | None = None) -> None:
        """Append ``count`` genes the organism never had: a fresh token each, plus their projected
        features when given. They take part in attention and in the head, never in the graph loss."""
        token = self.new_gene.expand(count, -1)
        if features is not None:
            if not hasattr(self, "project"):
                raise ValueError("this model was trained without gene features; added genes get a fresh token only")
            token = token + self.project(features.float().to(token.device))
        self.added = token.detach() if count else None

    # -- forward -------------------------------------------------------------------------------------
    def run(self, hook: LayerHook | None = None) -> torch.Tensor:
        """Tokens through every block; returns [T, d] states (T = 1 + N + added)."""
        parts = [self.cls, self.gene_tokens()] + ([self.added] if self.added is not None else [])
        x = torch.cat(parts)
        for i, block in enumerate(self.blocks):
            x, q, k = block(x)
            if hook is not None:
                hook(i, q, k)
        return self.norm(x)

    def forward(self, batch) -> CellState:
        kl: dict[str, torch.Tensor] = {}
        n = self.num_genes

        def prior_hook(layer: int, q: torch.Tensor, k: torch.Tensor) -> None:
            for name, gh in zip(self.tie_names, self.ties):
                if gh.layer == layer:
                    kl[name] = self.priors[gh.relation].kl(q[gh.head, 1:n + 1], k[gh.head, 1:n + 1])

        x = self.run(prior_hook if self.training and self.ties else None)
        weights = {name: gh.weight for name, gh in zip(self.tie_names, self.ties)}
        return CellState(genes=x[1:], cell=x[0], extras=(GraphKL(kl, weights),))

    # -- interpretation ------------------------------------------------------------------------------
    @torch.no_grad()
    def attention_logits(self, rows: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """For each tied head (by tie name), its logits from its relation's given gene rows to every
        gene: [R, N]."""
        out, n = {}, self.num_genes

        def hook(layer, q, k):
            for name, gh in zip(self.tie_names, self.ties):
                if gh.layer == layer and gh.relation in rows:
                    out[name] = q[gh.head, 1 + rows[gh.relation]] @ k[gh.head, 1:n + 1].T

        self.run(hook)
        return out

    @torch.no_grad()
    def epoch_diagnostics(self) -> dict:
        """precision@k of each tied head's attention against its graph, on 256 fixed rows."""
        if not self.ties:
            return {}
        gen = torch.Generator().manual_seed(0)
        rows = {name: p.valid_rows[torch.randint(len(p.valid_rows), (256,), generator=gen).to(p.valid_rows.device)]
                for name, p in self.priors.items()}
        logits = self.attention_logits(rows)
        k, report = self.config.precision_k, {}
        for name, gh in zip(self.tie_names, self.ties):
            precision, random = self.priors[gh.relation].precision_at_k(logits[name], rows[gh.relation], k)
            report[name] = {f"precision@{k}": round(precision, 4), f"random@{k}": round(random, 4)}
        return {"graph_heads": report}

    @torch.no_grad()
    def explain(self, state: CellState, batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per tied relation, the genes its head attends to most from a strain's genes (attention rows
        averaged over the set): (indices [B, k], weights [B, k])."""
        genes, mask = batch["genes"], batch["mask"]
        unique, inverse = torch.unique(genes, return_inverse=True)
        logits = self.attention_logits({gh.relation: unique for gh in self.ties})
        out = {}
        for name, rows in logits.items():
            alpha = torch.softmax(rows, dim=1)[inverse]  # [B, K, N]
            weights = mask.unsqueeze(-1).to(alpha.dtype)
            mean = (alpha * weights).sum(1) / weights.sum(1).clamp(min=1)
            top = mean.topk(min(k, mean.shape[1]), dim=1)
            out[f"attention_{name}"] = (top.indices, top.values)
        return out
