"""Metabolism plugins. COBRApy is imported only when a model is read, so this module loads without it."""

from cellreg import Plugin, hookimpl
from cellreg_metabolism.configs import FBAPhenotypesConfig, MetabolismGraphConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="metabolism",
               factory="cellreg_metabolism.graph:MetabolismGraph", config=MetabolismGraphConfig,
               description="A COBRA model (SBML/JSON/MAT/YAML, or bundled with COBRApy): reactions, metabolites, "
                            "gene rules."),
        Plugin(kind="phenotypes", name="fba",
               factory="cellreg_metabolism.fba:FBAPhenotypes", config=FBAPhenotypesConfig,
               description="Growth of gene-deletion strains by flux balance analysis on the graph's model."),
    ]
