from cellreg import Plugin, hookimpl
from cellreg_dango.configs import DangoConfig, HyperSAGNNConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="dango",
               factory="cellreg_dango.encoder:DangoEncoder", config=DangoConfig,
               description="DANGO: GraphSAGE per network, pretrained by adjacency reconstruction, meta-embedding."),
        Plugin(kind="head", name="hypersagnn",
               factory="cellreg_dango.hypersagnn:HyperSAGNNHead", config=HyperSAGNNConfig,
               description="Hyper-SAGNN: self-attention within the set, mean of (dynamic - static)^2 scores."),
        Plugin(kind="loss", name="dango_reconstruction", factory="cellreg_dango.loss:ReconstructionLoss",
               description="DANGO's adjacency-row reconstruction (sparse MSE), on the schedule of the dango encoder."),
    ]
