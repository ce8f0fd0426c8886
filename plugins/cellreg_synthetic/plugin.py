from cellreg import Plugin, hookimpl
from cellreg_synthetic.expression_config import SyntheticExpressionConfig
from cellreg_synthetic.configs import SyntheticGraphConfig, SyntheticPhenotypesConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="synthetic",
               factory="cellreg_synthetic.graph:SyntheticGraph", config=SyntheticGraphConfig,
               description="Synthetic organism: heavy-tailed modular networks, up to yeast scale (preset='yeast')."),
        Plugin(kind="phenotypes", name="synthetic",
               factory="cellreg_synthetic.phenotypes:SyntheticPhenotypes", config=SyntheticPhenotypesConfig,
               description="Planted fitness and interactions concentrated among graph-close genes, on any graph."),
        Plugin(kind="phenotypes", name="synthetic_expression",
               factory="cellreg_synthetic.expression:SyntheticExpression", config=SyntheticExpressionConfig,
               description="Planted expression profiles: deleted regulators move their targets, pathways move together."),
    ]
