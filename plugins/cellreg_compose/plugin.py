from cellreg import Plugin, hookimpl
from cellreg_compose.configs import ComposeConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="compose", factory="cellreg_compose.source:ComposedGraph", config=ComposeConfig,
               description="several graph sources (edge files, a metabolic model, an ontology...) over one vocabulary"),
    ]
