from cellreg import Plugin, hookimpl
from cellreg_synthetic.graph import SyntheticGraph, SyntheticGraphConfig
from cellreg_synthetic.phenotypes import SyntheticPhenotypes, SyntheticPhenotypesConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="synthetic", factory=SyntheticGraph, config=SyntheticGraphConfig,
               description="Synthetic organism: heavy-tailed modular networks, up to yeast scale (preset='yeast')."),
        Plugin(kind="phenotypes", name="synthetic", factory=SyntheticPhenotypes, config=SyntheticPhenotypesConfig,
               description="Planted fitness and interactions concentrated among graph-close genes, on any graph."),
    ]
