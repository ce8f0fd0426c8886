from cellreg import Plugin, hookimpl
from cellreg_dango.encoder import DangoConfig, DangoEncoder
from cellreg_dango.hypersagnn import HyperSAGNNConfig, HyperSAGNNHead
from cellreg_dango.loss import ReconstructionLoss


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="dango", factory=DangoEncoder, config=DangoConfig,
               description="DANGO: GraphSAGE per network, pretrained by adjacency reconstruction, meta-embedding."),
        Plugin(kind="head", name="hypersagnn", factory=HyperSAGNNHead, config=HyperSAGNNConfig,
               description="Hyper-SAGNN: self-attention within the set, mean of (dynamic - static)^2 scores."),
        Plugin(kind="loss", name="dango_reconstruction", factory=ReconstructionLoss,
               description="DANGO's adjacency-row reconstruction (sparse MSE), on the schedule of the dango encoder."),
    ]
