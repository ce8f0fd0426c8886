from cellreg import Plugin, hookimpl
from cellreg_baselines.configs import GeneEmbeddingConfig, SumMLPConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="gene_embedding",
               factory="cellreg_baselines.additive:GeneEmbeddingEncoder", config=GeneEmbeddingConfig,
               description="A free learned vector per gene; ignores the graph (additive baseline)."),
        Plugin(kind="encoder", name="none", factory="cellreg_baselines.mean:NoEncoder",
               description="No cell state, for heads that need none (label-mean baseline)."),
        Plugin(kind="head", name="sum_mlp",
               factory="cellreg_baselines.additive:SumMLPHead", config=SumMLPConfig,
               description="Sum the perturbed genes' states (+ type embedding), then an MLP."),
        Plugin(kind="head", name="mean", factory="cellreg_baselines.mean:MeanHead",
               description="One learned constant per label: the label-mean baseline."),
    ]
