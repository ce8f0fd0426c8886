from cellreg import Plugin, hookimpl
from cellreg_heterocell.configs import DifferenceHeadConfig, HeteroCellConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="hetero_cell",
               factory="cellreg_heterocell.encoder:HeteroCellEncoder", config=HeteroCellConfig,
               description="Heterogeneous GNN over genes (+ reactions, metabolites); per-strain F(G) − F(G∖S)."),
        Plugin(kind="head", name="difference",
               factory="cellreg_heterocell.head:DifferenceHead", config=DifferenceHeadConfig,
               description="MLP on a per-strain encoder's F(G) − F(G∖S)."),
    ]
