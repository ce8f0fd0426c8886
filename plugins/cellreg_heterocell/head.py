"""The difference readout h: an MLP on F(G) − F(G∖S), the per-strain encoder's ``cell`` [B, d]."""

from __future__ import annotations

from torch_geometric.nn import MLP

from cellreg import Batch, CellState, Context, Encoder, PerturbationHead, Prediction
from cellreg_heterocell.configs import DifferenceHeadConfig


class DifferenceHead(PerturbationHead):
    def __init__(self, config: DifferenceHeadConfig, context: Context) -> None:
        super().__init__()
        encoder = context.encoder
        if not (isinstance(encoder, Encoder) and encoder.per_strain):
            raise ValueError("head 'difference' reads a per-strain encoder's F(G) − F(G∖S); "
                             f"encoder {type(encoder).__name__} is a wild-type encoder (use e.g. 'hetero_cell')")
        channels = [encoder.dim] + [config.hidden] * (config.layers - 1) + [len(context.label_names)]
        self.mlp = MLP(channels, dropout=config.dropout, norm=None)
        self.embedding_dim = encoder.dim  # F(G) - F(G minus S)

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        return Prediction(self.mlp(state.cell), strain_embedding=state.cell)
