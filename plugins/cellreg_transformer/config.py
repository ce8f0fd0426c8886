"""Config classes of the transformer plugins."""

from __future__ import annotations

from typing import Literal

import attrs

_ge0 = attrs.validators.ge(0)
_ge1 = attrs.validators.ge(1)
_prob = attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.lt(1.0))


@attrs.frozen
class GraphHead:
    """Tie attention head ``head`` of layer ``layer`` (both 0-based) to ``relation``."""

    relation: str
    layer: int = attrs.field(default=0, validator=_ge0)
    head: int = attrs.field(default=0, validator=_ge0)
    weight: float = attrs.field(default=1.0, validator=attrs.validators.ge(0.0))


@attrs.frozen
class TransformerConfig:
    dim: int = attrs.field(default=64, validator=_ge1)
    layers: int = attrs.field(default=2, validator=_ge1)
    heads: int = attrs.field(default=4, validator=_ge1)
    ffn_mult: int = attrs.field(default=2, validator=_ge1)
    dropout: float = attrs.field(default=0.1, validator=_prob)  # on residual branches and the FFN
    # Dropout on attention weights has no fused CPU kernel: > 0 makes SDPA build T x T per head there.
    attention_dropout: float = attrs.field(default=0.0, validator=_prob)
    use_features: bool = True  # tokens from the graph's gene features when it has them
    # Omitted: one head per relation, relation k on layer k // heads, head k % heads. [] = no prior.
    graph_heads: list[GraphHead] | None = None
    rows: int = attrs.field(default=128, validator=_ge1)  # sampled rows per relation and step
    max_positives: int = attrs.field(default=64, validator=_ge1)  # edges drawn per sampled row (hubs)
    negatives: int = attrs.field(default=64, validator=_ge1)  # non-edges drawn per sampled row
    precision_k: int = attrs.field(default=10, validator=_ge1)  # for the per-epoch precision@k log

    def __attrs_post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"'dim' must be divisible by heads ({self.heads}), got {self.dim}")
        for i, gh in enumerate(self.graph_heads or []):
            if gh.layer >= self.layers or gh.head >= self.heads:
                raise ValueError(f"'graph_heads' entry {i} ({gh.relation}) names layer {gh.layer}, head {gh.head}; "
                                 f"the model has layers 0..{self.layers - 1} and heads 0..{self.heads - 1}")


@attrs.frozen
class CrossAttentionHeadConfig:
    pool: Literal["mean", "sum", "attention"] = "mean"  # how q_S summarises the perturbed genes
    hidden: int = attrs.field(default=128, validator=_ge1)
    layers: int = attrs.field(default=2, validator=_ge1)
    dropout: float = attrs.field(default=0.1, validator=_prob)
    use_query: bool = True  # also feed q_S to the MLP; the reference [h_CLS ‖ z_S] alone does not train (docs)
    # A residual additive path: y = MLP_a(Σ_{i∈S} a_i + e_a(m_i)) + the attention read-out, whose last layer
    # starts at zero, so training starts from the additive model and learns corrections (docs/results.md).
    additive: bool = False
    # Pairwise products of the set's members, Σ_{i<j} (h_i + e(m_i)) ⊙ (h_j + e(m_j)) (a factorization
    # machine's term, order-free for any set size), as one more MLP input: what a pair's interaction
    # needs and a pooled mean cannot give (docs/transformer.md).
    pairwise: bool = False
    additive_dim: int = attrs.field(default=64, validator=_ge1)
