from cellreg import Plugin, hookimpl
from cellreg_losses.distloss import DistLoss, DistLossConfig
from cellreg_losses.logcosh import LogCoshLoss
from cellreg_losses.mse import MSELoss
from cellreg_losses.supcr import SupCRConfig, SupCRLoss
from cellreg_losses.uncertainty import UncertaintyConfig, UncertaintyWeighting


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="loss", name="mse", factory=MSELoss, default=True,
               description="Mean squared error per label, NaN targets masked."),
        Plugin(kind="loss", name="logcosh", factory=LogCoshLoss,
               description="Log-cosh of the residual per label (robust to outliers), NaN targets masked."),
        Plugin(kind="loss", name="distloss", factory=DistLoss, config=DistLossConfig,
               description="Sorted predictions vs KDE quantiles of the labels: matches their distribution."),
        Plugin(kind="loss", name="supcr", factory=SupCRLoss, config=SupCRConfig,
               description="Contrastive regression on strain embeddings (closer label, closer embedding)."),
        Plugin(kind="loss", name="uncertainty", factory=UncertaintyWeighting, config=UncertaintyConfig,
               description="Per-label MSE or log-cosh weighted by a learned log-variance per label."),
    ]
