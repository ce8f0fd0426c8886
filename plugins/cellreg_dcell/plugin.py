"""DCell plugins: the ontology graph source, the visible neural network, its head and auxiliary loss."""

from cellreg import Plugin, hookimpl
from cellreg_dcell.configs import AuxiliaryLossConfig, DCellConfig, OntologyGraphConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="ontology", factory="cellreg_dcell.graph:OntologyGraph", config=OntologyGraphConfig,
               description="The Gene Ontology (OBO + GAF 2.x) or a DCell topology file, filtered as DCell does."),
        Plugin(kind="encoder", name="dcell", factory="cellreg_dcell.encoder:DCellEncoder", config=DCellConfig,
               description="DCell: a visible neural network over the ontology's terms, run level by level."),
        Plugin(kind="head", name="dcell", factory="cellreg_dcell.head:RootHead",
               description="Linear read-out of the root term's neurons (DCell's final layer)."),
        Plugin(kind="loss", name="dcell_auxiliary", factory="cellreg_dcell.loss:AuxiliaryLoss",
               config=AuxiliaryLossConfig,
               description="alpha x the squared error of every non-root term's auxiliary read-out (DCell)."),
    ]
