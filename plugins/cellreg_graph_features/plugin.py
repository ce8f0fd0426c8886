"""Gene features computed from graphs: each gene's edges to anchor genes (docs/real_benchmark.md)."""

from cellreg import Plugin, hookimpl
from cellreg_graph_features.configs import GraphProfileConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="features", name="graph_profile", factory="cellreg_graph_features.profile:GraphProfile",
               config=GraphProfileConfig,
               description="each gene's edge weights to a list of anchor genes, per relation of a graph"),
    ]
