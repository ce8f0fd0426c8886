from cellreg import Plugin, hookimpl
from cellreg_losses.mse import MSELoss


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="loss", name="mse", factory=MSELoss,
               description="Mean squared error per label, NaN targets masked."),
    ]
