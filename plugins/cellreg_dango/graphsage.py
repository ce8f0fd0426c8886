"""One network's encoder: two GraphSAGE layers (mean aggregation, swish) over the shared gene
embedding, and the head that predicts the gene's adjacency row from the result."""

from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import SAGEConv

from cellreg_dango.aggregation import MeanAdjacency


class MeanSAGEConv(SAGEConv):
    """PyG's SAGEConv (mean aggregation, root weight, its parameters and initialisation):
    ``W_l mean_{j→i} x_j + b + W_r x_i``, with the aggregation from :class:`MeanAdjacency`,
    whose backward does not re-sort the sparse matrix every step."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim, dim, aggr="mean")

    def forward(self, x: torch.Tensor, adjacency: MeanAdjacency) -> torch.Tensor:  # type: ignore[override]
        return self.lin_l(adjacency.mean(x)) + self.lin_r(x)


class NetworkEncoder(nn.Module):
    """h = swish(SAGE2(swish(SAGE1(x)))) on one relation. The reference samples 5 neighbours per
    gene; this aggregates over all of them (deterministic, and the whole graph runs at once)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv1, self.conv2 = MeanSAGEConv(dim), MeanSAGEConv(dim)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, adjacency: MeanAdjacency) -> torch.Tensor:
        return self.act(self.conv2(self.act(self.conv1(x, adjacency)), adjacency))


class RowDecoder(nn.Module):
    """Linear → swish → Linear to all n genes: the reference's ``FeedForward([d, d, n])``."""

    def __init__(self, dim: int, n: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, n))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)
