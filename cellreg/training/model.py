"""Encoder + head + loss terms as one module: one forward per step gives predictions, every loss
part and the auxiliary outputs (design trap §7.3: no second forward just for aux outputs)."""

from __future__ import annotations

import attrs
import torch
from torch import nn

from cellreg.plugin_api.contracts import Batch, CellState, Encoder, Loss, PerturbationHead, Prediction
from cellreg.training.environment import EnvironmentReadout


class CellModel(nn.Module):
    def __init__(self, encoder: Encoder, head: PerturbationHead, losses: dict[str, Loss],
                 weights: dict[str, float], environment: EnvironmentReadout | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.environment = environment  # None: the model ignores the environment
        self.losses = nn.ModuleDict(losses)
        self.weights = dict(weights)

    def parts(self) -> list[Encoder | PerturbationHead | Loss]:
        """The plugin objects whose training hooks the trainer calls: encoder, head, loss terms."""
        return [self.encoder, self.head, *self.losses.values()]

    def predict(self, state: CellState, batch: Batch) -> Prediction:
        """The head's prediction plus, for a model that reads the environment, the readout's term:
        what training, ``cellreg predict`` and ``screen`` all score."""
        prediction = self.head(state, batch)
        if self.environment is None:
            return prediction
        values = prediction.values
        return attrs.evolve(prediction, values=values + self.environment(prediction.strain_embedding, batch).to(values.dtype))

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        """``pred`` [B, L]; with a ``target`` in the batch also ``loss`` and ``loss/<term>``."""
        state = self.encoder(batch)
        prediction = self.predict(state, batch)
        pred = prediction.values
        out = {"pred": pred}
        if "target" in batch:
            state = attrs.evolve(state, strain_embedding=prediction.strain_embedding)  # the encoder's stays as it was
            total = pred.new_zeros(())
            for name, term in self.losses.items():
                part = term(pred.float(), batch["target"], state, batch)
                out[f"loss/{name}"] = part.detach()
                total = total + self.weights[name] * part
            out["loss"] = total
        return out
