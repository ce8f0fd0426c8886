"""A profile head for every family: the family's own head, built through the registry with ``rank``
outputs, then a readout to the profile's F features (linear, or one hidden layer).

    ŷ = W · g(F(G), S) + b        g: the inner head with rank outputs, W: [F, rank]

The inner head keeps everything its family does with the perturbation set; the readout shares
one low-rank map across features, so F = 6,000 costs B·rank·F per step and rank·F weights.
"""

from __future__ import annotations

import attrs
import torch
from torch import nn
from torch_geometric.nn import MLP

from cellreg import Batch, CellState, Context, PerturbationHead, Prediction
from cellreg.config.schema import choose_plugin
from cellreg_profiles.configs import VectorHeadConfig


class VectorHead(PerturbationHead):
    def __init__(self, config: VectorHeadConfig, context: Context) -> None:
        super().__init__()
        if context.registry is None:
            raise ValueError("the vector head builds its inner head through the registry; the Context has none")
        choice = choose_plugin(dict(config.inner), "head", "model.head.inner", context.registry)
        inner_context = attrs.evolve(context, label_names=tuple(f"rank{i}" for i in range(config.rank)))
        self.inner = context.registry.build("head", choice.name, choice.config, inner_context)
        self.embedding_dim = self.inner.embedding_dim  # an environment reaches the profile through the inner head's
        features = len(context.label_names)
        channels = [config.rank] + ([config.hidden] if config.hidden else []) + [features]
        self.readout = MLP(channels, dropout=config.dropout, norm=None) if config.hidden \
            else nn.Linear(config.rank, features)

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        inner = self.inner(state, batch)
        return Prediction(self.readout(inner.values), strain_embedding=inner.strain_embedding)

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        self.inner.on_epoch_start(epoch, epochs)

    @property
    def explains(self) -> bool:
        return self.inner.explains

    def explain(self, state: CellState, batch: Batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        return self.inner.explain(state, batch, k)

    def explained_names(self, mechanism: str):
        return self.inner.explained_names(mechanism)
