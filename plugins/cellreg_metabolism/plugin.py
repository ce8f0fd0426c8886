"""Metabolism plugins. COBRApy is imported only when a model is read, so this module loads without it."""

from cellreg import Plugin, hookimpl
from cellreg_metabolism.fba import FBAPhenotypes, FBAPhenotypesConfig
from cellreg_metabolism.graph import MetabolismGraph, MetabolismGraphConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="metabolism", factory=MetabolismGraph, config=MetabolismGraphConfig,
               description="A COBRA model (SBML/JSON/MAT/YAML, or bundled with COBRApy): reactions, metabolites, "
                            "gene rules."),
        Plugin(kind="phenotypes", name="fba", factory=FBAPhenotypes, config=FBAPhenotypesConfig,
               description="Growth of gene-deletion strains by flux balance analysis on the graph's model."),
    ]
