from cellreg import Plugin, hookimpl
from cellreg_profiles.configs import ProfilesConfig, VectorHeadConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="phenotypes", name="profiles",
               factory="cellreg_profiles.source:ProfilesSource", config=ProfilesConfig,
               description="Expression or morphology profiles (.h5ad, wide tables, the deleteome's matrix) as "
                           "changes from the reference."),
        Plugin(kind="head", name="vector",
               factory="cellreg_profiles.vector_head:VectorHead", config=VectorHeadConfig,
               description="Any family's head read out into a profile through a low-rank layer."),
    ]
