"""The additive baseline: one learned vector per gene, summed over the perturbed set, then an MLP.

It never looks at the graph, so on a gene-held-out split it knows nothing about a test gene:
every graph-using model must beat it there to claim the graph helps. Given per-gene features
(``[[features]]``), each vector is the free one plus a linear map of the gene's features: the
additive model on a representation, what a learned representation is compared against.
"""

from __future__ import annotations

from torch import nn
from torch_geometric.nn import MLP

from cellreg import Batch, CellState, Context, Encoder, Perturbation, PerturbationHead, Prediction
from cellreg_baselines.configs import GeneEmbeddingConfig, SumMLPConfig


class GeneEmbeddingEncoder(Encoder):
    """F(G) = a free embedding table: the wild-type state, computed once per step."""

    per_strain = False

    def __init__(self, config: GeneEmbeddingConfig, context: Context) -> None:
        super().__init__()
        self.dim = config.dim
        self.embedding = nn.Embedding(context.graph.num_genes, config.dim)
        nn.init.normal_(self.embedding.weight, std=0.1)
        features = context.graph.gene_features if config.features else None
        self.project = None if features is None else nn.Linear(features.shape[1], config.dim, bias=False)
        if features is not None:
            self.register_buffer("gene_features", features.float(), persistent=False)

    def forward(self, batch: Batch) -> CellState:
        if self.project is None:
            return CellState(genes=self.embedding.weight)
        return CellState(genes=self.embedding.weight + self.project(self.gene_features))


class SumMLPHead(PerturbationHead):
    """g(H, S) = MLP(sum over the set of h_gene + e_type): order-free, any mix of set sizes."""

    def __init__(self, config: SumMLPConfig, context: Context) -> None:
        super().__init__()
        dim = context.encoder.dim
        self.kind = nn.Embedding(len(Perturbation), dim)
        nn.init.zeros_(self.kind.weight)
        channels = [dim] + [config.hidden] * (config.layers - 1) + [len(context.label_names)]
        self.mlp = MLP(channels, dropout=config.dropout, norm=None)
        self.embedding_dim = dim  # the pooled set

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        genes = state.genes[batch["genes"]] + self.kind(batch["kinds"])  # [B, K, d]
        pooled = (genes * batch["mask"].unsqueeze(-1)).sum(1)
        return Prediction(self.mlp(pooled), strain_embedding=pooled)  # the embedding: for terms such as supcr
