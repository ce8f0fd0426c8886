"""The ``store`` phenotype source: train on studies of the study store (``cellreg data``, docs/store.md)."""

from cellreg import Plugin, hookimpl
from cellreg_store.configs import StoreConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="phenotypes", name="store", factory="cellreg_store.source:StoreSource", config=StoreConfig,
               description="studies of the study store (cellreg data): chosen phenotypes and environments, one "
                           "policy for strains several studies measured"),
    ]
