from cellreg import Plugin, hookimpl
from cellreg_baselines.additive import GeneEmbeddingConfig, GeneEmbeddingEncoder, SumMLPConfig, SumMLPHead
from cellreg_baselines.mean import MeanHead, NoEncoder


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="gene_embedding", factory=GeneEmbeddingEncoder, config=GeneEmbeddingConfig,
               description="A free learned vector per gene; ignores the graph (additive baseline)."),
        Plugin(kind="encoder", name="none", factory=NoEncoder,
               description="No cell state, for heads that need none (label-mean baseline)."),
        Plugin(kind="head", name="sum_mlp", factory=SumMLPHead, config=SumMLPConfig,
               description="Sum the perturbed genes' states (+ type embedding), then an MLP."),
        Plugin(kind="head", name="mean", factory=MeanHead,
               description="One learned constant per label: the label-mean baseline."),
    ]
