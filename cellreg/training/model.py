"""Encoder + head + loss terms as one module: one forward per step gives predictions, every loss
part and the auxiliary outputs (design trap §7.3: no second forward just for aux outputs)."""

from __future__ import annotations

import torch
from torch import nn

from cellreg.plugin_api.contracts import Batch


class CellModel(nn.Module):
    def __init__(self, encoder: nn.Module, head: nn.Module, losses: dict[str, nn.Module],
                 weights: dict[str, float]) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        """``pred`` [B, L]; with a ``target`` in the batch also ``loss`` and ``loss/<term>``."""
        state = self.encoder(batch)
        pred = self.head(state, batch)
        out = {"pred": pred}
        if "target" in batch:
            total = pred.new_zeros(())
            for name, term in self.losses.items():
                part = term(pred.float(), batch["target"], state, batch)
                out[f"loss/{name}"] = part.detach()
                total = total + self.weights[name] * part
            out["loss"] = total
        return out
