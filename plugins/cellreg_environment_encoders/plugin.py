from cellreg import Plugin, hookimpl
from cellreg_environment.configs import EncoderWidth


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="environment", name="categorical", factory="cellreg_environment.encoders:Categorical",
               config=EncoderWidth, description="A learned embedding per value, with an 'unknown' slot for unseen ones."),
        Plugin(kind="environment", name="numeric", factory="cellreg_environment.encoders:Numeric",
               config=EncoderWidth, description="The value standardized on training rows, through a small MLP."),
        Plugin(kind="environment", name="dose_response", factory="cellreg_environment.encoders:DoseResponse",
               config=EncoderWidth,
               description="CPA's per-compound generalized sigmoid in log dose (exactly 0 at dose 0) x a compound embedding."),
    ]
