"""The example plugin's model: ``h_i = e_i + W · mean_{j ∈ N(i)} e_j`` over the union of the graph's
relations, so a gene never seen in training still gets a state from its trained neighbours."""

import torch
from torch import nn
from torch_geometric.utils import scatter

from cellreg import CellState, Context, Encoder
from cellreg_neighbour import NeighbourMeanConfig


class NeighbourMeanEncoder(Encoder):
    per_strain = False  # F(G) on the wild type: once per step

    def __init__(self, config: NeighbourMeanConfig, context: Context) -> None:
        super().__init__()
        graph = context.graph
        self.dim = config.dim
        self.embedding = nn.Embedding(graph.num_genes, config.dim)
        nn.init.normal_(self.embedding.weight, std=0.1)
        self.mix = nn.Linear(config.dim, config.dim)
        edges = torch.cat([r.message_index() for r in graph.relations.values()], dim=1)
        self.register_buffer("edges", edges, persistent=False)  # built from the graph, not saved

    def forward(self, batch) -> CellState:
        e = self.embedding.weight
        src, dst = self.edges
        neighbours = scatter(e[src], dst, dim=0, dim_size=e.shape[0], reduce="mean")
        return CellState(genes=e + self.mix(neighbours))
