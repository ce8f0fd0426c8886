from cellreg import Context, Plugin, hookimpl
from cellreg_ops.configs import KHopConfig

# Each op is built from the run's graph; its module (and torch) is imported only then.


def index(config, context: Context):
    from cellreg_ops.index_op import IndexOp

    return IndexOp()


def explicit(config, context: Context):
    from cellreg_ops.explicit_op import ExplicitSubgraphOp

    return ExplicitSubgraphOp(context.graph)


def lazy_mask(config, context: Context):
    from cellreg_ops.lazy_op import LazyMaskOp

    return LazyMaskOp(context.graph)


def khop(config: KHopConfig, context: Context):
    from cellreg_ops.khop_op import KHopOp

    return KHopOp(context.graph, config)


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="perturbation", name="index", factory=index, default=True,
               description="Padded gene indices, type codes and a mask per strain; O(|S|), no graph copy."),
        Plugin(kind="perturbation", name="explicit", factory=explicit,
               description="A relabelled copy of the graph per strain (PyG subgraph); the slow correctness oracle."),
        Plugin(kind="perturbation", name="lazy_mask", factory=lazy_mask,
               description="Dead nodes and edge positions per strain from an incidence cache; O(Σ deg), no copy."),
        Plugin(kind="perturbation", name="khop", factory=khop, config=KHopConfig,
               description="The union of the perturbed genes' k-hop neighbourhoods, relabelled, minus the deletions."),
    ]
