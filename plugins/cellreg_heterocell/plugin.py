from cellreg import Plugin, hookimpl
from cellreg_heterocell.encoder import HeteroCellConfig, HeteroCellEncoder
from cellreg_heterocell.head import DifferenceHead, DifferenceHeadConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="hetero_cell", factory=HeteroCellEncoder, config=HeteroCellConfig,
               description="Heterogeneous GNN over genes (+ reactions, metabolites); per-strain F(G) − F(G∖S)."),
        Plugin(kind="head", name="difference", factory=DifferenceHead, config=DifferenceHeadConfig,
               description="MLP on a per-strain encoder's F(G) − F(G∖S)."),
    ]
