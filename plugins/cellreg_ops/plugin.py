from cellreg import Plugin, hookimpl
from cellreg_ops.index_op import IndexOp


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="perturbation", name="index", factory=IndexOp,
               description="Padded gene indices, type codes and a mask per strain; O(|S|), no graph copy."),
    ]
