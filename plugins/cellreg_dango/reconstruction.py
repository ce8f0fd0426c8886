"""DANGO's adjacency-row reconstruction error, on sampled rows and without any N×N matrix.

Each network's edge weights are min-max scaled to [0, 1] over its edges (unweighted or
constant-weight networks: 1), as in the reference code; row ``i`` of the target holds the
scaled weights of the edges leaving ``i`` (both directions for undirected relations).
"""

from __future__ import annotations

import torch
from torch import nn

from cellreg import Relation


def scaled_weights(relation: Relation) -> torch.Tensor:
    """Min-max scaled weights, one per stored edge. The weakest edge of a weighted network maps
    to 0 and so counts as a zero entry, exactly as the reference's ``MinMaxScaler`` does."""
    if relation.weight is None:
        return torch.ones(relation.num_edges)
    w = relation.weight.float()
    if w.numel() == 0 or not bool(w.max() > w.min()):
        return torch.ones_like(w)
    return (w - w.min()) / (w.max() - w.min())


def reconstruction_edges(relation: Relation) -> tuple[torch.Tensor, torch.Tensor]:
    """``(edge_index [2, M], value [M])``: the stored entries of the scaled adjacency."""
    w = scaled_weights(relation)
    values = w if relation.directed else torch.cat([w, w])
    return relation.message_index(), values


def sparse_mse(pred: torch.Tensor, rows: torch.Tensor, edges: torch.Tensor, values: torch.Tensor,
               zero_weight: float) -> torch.Tensor:
    """DANGO's reconstruction error for the predicted rows ``pred`` [R, n] of genes ``rows``
    (distinct): per row, the MSE over its non-zero entries plus λ times the MSE over its zero
    entries, each averaged over the rows (the reference's ``sparse_mse``).

    No dense target: the zero entries' squared error is the row's total ``Σ p²`` minus the
    non-zero entries' ``Σ p²``, and the non-zero entries are gathered from the edge list (edges
    whose source is not sampled are masked), so a step costs O(E + R·n) with no host sync.
    """
    pred = pred.float()  # sums over N entries per row: keep them out of half precision
    r, n = pred.shape
    slot = torch.full((n,), r, dtype=torch.long, device=rows.device)
    slot[rows] = torch.arange(r, device=rows.device)
    row = slot[edges[0]]
    hit = (row < r) & (values != 0)
    row = row.clamp(max=r - 1)  # masked edges point at a real row but add exactly 0 there
    p = pred[row, edges[1]]
    on_sum = pred.new_zeros(r).index_add(0, row, torch.where(hit, (p - values) ** 2, 0.0))
    on_p2 = pred.new_zeros(r).index_add(0, row, torch.where(hit, p ** 2, 0.0))
    count = pred.new_zeros(r).index_add(0, row, hit.to(pred.dtype))
    off_sum = (pred ** 2).sum(-1) - on_p2
    on = on_sum / count.clamp(min=1)
    off = off_sum / (n - count).clamp(min=1)
    return on.mean() + zero_weight * off.mean()


class ReconstructionTargets(nn.Module):
    """One network's scaled adjacency as an edge list in buffers (rebuilt from the graph, never
    saved in a checkpoint), and its λ."""

    def __init__(self, relation: Relation, zero_weight: float) -> None:
        super().__init__()
        edges, values = reconstruction_edges(relation)
        self.register_buffer("edges", edges, persistent=False)
        self.register_buffer("values", values, persistent=False)
        self.zero_weight = zero_weight

    def error(self, pred: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return sparse_mse(pred, rows, self.edges, self.values, self.zero_weight)
