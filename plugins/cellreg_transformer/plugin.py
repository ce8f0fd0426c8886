from cellreg import Plugin, hookimpl
from cellreg_transformer.config import CrossAttentionHeadConfig, TransformerConfig
from cellreg_transformer.profile_config import PerGeneHeadConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="transformer",
               factory="cellreg_transformer.encoder:TransformerEncoder", config=TransformerConfig,
               description="Transformer over [CLS] + gene tokens, once per step; heads tied to graphs by a KL prior."),
        Plugin(kind="head", name="cross_attention",
               factory="cellreg_transformer.head:CrossAttentionHead", config=CrossAttentionHeadConfig,
               description="Pool the perturbed genes, attend over all genes, MLP on [h_CLS ‖ z_S]."),
        Plugin(kind="head", name="per_gene",
               factory="cellreg_transformer.profile_head:PerGeneHead", config=PerGeneHeadConfig,
               description="A profile over genes, one output per gene token from it and the perturbation summary."),
        Plugin(kind="loss", name="graph_kl", factory="cellreg_transformer.graph_loss:GraphKLLoss",
               description="Row-wise KL between graph rows and tied attention heads (sampled rows)."),
    ]
