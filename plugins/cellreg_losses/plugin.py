from cellreg import Plugin, hookimpl
from cellreg_losses.configs import DistLossConfig, ProfileLossConfig, SupCRConfig, UncertaintyConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="loss", name="mse",
               factory="cellreg_losses.mse:MSELoss", default=True,
               description="Mean squared error per label, NaN targets masked."),
        Plugin(kind="loss", name="logcosh", factory="cellreg_losses.logcosh:LogCoshLoss",
               description="Log-cosh of the residual per label (robust to outliers), NaN targets masked."),
        Plugin(kind="loss", name="distloss",
               factory="cellreg_losses.distloss:DistLoss", config=DistLossConfig,
               description="Sorted predictions vs KDE quantiles of the labels: matches their distribution."),
        Plugin(kind="loss", name="supcr",
               factory="cellreg_losses.supcr:SupCRLoss", config=SupCRConfig,
               description="Contrastive regression on strain embeddings (closer label, closer embedding)."),
        Plugin(kind="loss", name="profile", factory="cellreg_losses.profile:ProfileLoss", config=ProfileLossConfig,
               description="A profile's changes: MSE or Gaussian NLL per feature, with an optional direction term."),
        Plugin(kind="loss", name="uncertainty",
               factory="cellreg_losses.uncertainty:UncertaintyWeighting", config=UncertaintyConfig,
               description="Per-label MSE or log-cosh weighted by a learned log-variance per label."),
    ]
