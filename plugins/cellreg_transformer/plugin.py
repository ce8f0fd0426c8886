from cellreg import Plugin, hookimpl
from cellreg_transformer.config import CrossAttentionHeadConfig, TransformerConfig
from cellreg_transformer.encoder import TransformerEncoder
from cellreg_transformer.graph_loss import GraphKLLoss
from cellreg_transformer.head import CrossAttentionHead


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="encoder", name="transformer", factory=TransformerEncoder, config=TransformerConfig,
               description="Transformer over [CLS] + gene tokens, once per step; heads tied to graphs by a KL prior."),
        Plugin(kind="head", name="cross_attention", factory=CrossAttentionHead, config=CrossAttentionHeadConfig,
               description="Pool the perturbed genes, attend over all genes, MLP on [h_CLS ‖ z_S]."),
        Plugin(kind="loss", name="graph_kl", factory=GraphKLLoss,
               description="Row-wise KL between graph rows and tied attention heads (sampled rows)."),
    ]
