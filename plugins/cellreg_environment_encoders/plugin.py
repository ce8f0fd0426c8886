from cellreg import Plugin, hookimpl
from cellreg_environment_encoders.configs import EncoderWidth


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="environment", name="category_embedding", factory="cellreg_environment_encoders.encoders:Categorical",
               config=EncoderWidth, description="A learned embedding per value, with an 'unknown' slot for unseen ones."),
        Plugin(kind="environment", name="standardized", factory="cellreg_environment_encoders.encoders:Numeric",
               config=EncoderWidth, description="The value standardized on training rows, through a small MLP."),
        Plugin(kind="environment", name="dose_response", factory="cellreg_environment_encoders.encoders:DoseResponse",
               config=EncoderWidth,
               description="CPA's per-compound generalized sigmoid in log dose (exactly 0 at dose 0) x a compound embedding."),
    ]
