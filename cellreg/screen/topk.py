"""The best K designs seen so far, in a fixed-size buffer: memory O(K + batch) whatever the number
of designs, one stable sort of K + B scores per batch, no Python loop over designs.

Order is (score descending, design rank ascending): a batch's ranks all exceed the buffer's (one
process scores its batches in rank order) and the sort is stable, so the buffer is always the
first K of that order; :func:`merge` restores the same order over several processes' buffers, so
K designs kept by 2 processes are exactly those kept by one.
"""

from __future__ import annotations

import torch


class TopK:
    """``score`` [k'], ``ids`` [k'] (design ranks) and ``payload`` [k', P] of the best k' <= K so far."""

    def __init__(self, k: int, width: int, device: torch.device | str = "cpu") -> None:
        self.k = k
        self.score = torch.empty(0, device=device)
        self.ids = torch.empty(0, dtype=torch.int64, device=device)
        self.payload = torch.empty(0, width, device=device)

    def push(self, score: torch.Tensor, ids: torch.Tensor, payload: torch.Tensor) -> None:
        score = torch.cat([self.score, score])
        order = torch.sort(score, descending=True, stable=True).indices[: self.k]
        self.score = score[order]
        self.ids = torch.cat([self.ids, ids])[order]
        self.payload = torch.cat([self.payload, payload])[order]

    def padded(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exactly K rows (missing ones: score -inf, id -1), so processes can gather equal shapes."""
        n = self.k - len(self.score)
        return (torch.cat([self.score, self.score.new_full((n,), -torch.inf)]),
                torch.cat([self.ids, self.ids.new_full((n,), -1)]),
                torch.cat([self.payload, self.payload.new_zeros(n, self.payload.shape[1])]))


def merge(k: int, score: torch.Tensor, ids: torch.Tensor, payload: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Several buffers' rows concatenated -> the best ``k`` in (score desc, id asc) order; padding
    (id -1) dropped."""
    real = ids >= 0
    score, ids, payload = score[real], ids[real], payload[real]
    by_id = torch.argsort(ids)
    order = by_id[torch.sort(score[by_id], descending=True, stable=True).indices][:k]
    return score[order], ids[order], payload[order]
