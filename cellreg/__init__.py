"""cellreg: predict phenotypes of multiply-perturbed cells from gene networks.

Writing a plugin takes one module and one entry point (see :mod:`cellreg.plugin_api.hookspecs`);
its objects subclass the base classes exported here (:mod:`cellreg.plugin_api.contracts`).
Names are imported on first use, so ``from cellreg import Plugin, hookimpl`` stays free of torch.
"""

from __future__ import annotations

import importlib

from cellreg.plugin_api.hookspecs import hookimpl
from cellreg.plugin_api.plugin import EmptyConfig, Plugin

__version__ = "0.1.0"

_LAZY = {
    "CellGraph": "cellreg.data.graph", "Relation": "cellreg.data.graph",
    "Perturbation": "cellreg.data.phenotypes", "PhenotypeTable": "cellreg.data.phenotypes",
    "Context": "cellreg.plugin_api.sources", "GraphSource": "cellreg.plugin_api.sources",
    "PhenotypeSource": "cellreg.plugin_api.sources", "StrainColumns": "cellreg.plugin_api.sources",
    "NewStrains": "cellreg.plugin_api.sources", "FeatureSource": "cellreg.plugin_api.sources",
    "GeneFeatures": "cellreg.plugin_api.sources",
    "Batch": "cellreg.plugin_api.contracts", "CellState": "cellreg.plugin_api.contracts",
    "Encoder": "cellreg.plugin_api.contracts", "Loss": "cellreg.plugin_api.contracts",
    "PerturbationHead": "cellreg.plugin_api.contracts", "PerturbationOp": "cellreg.plugin_api.contracts",
    "Prediction": "cellreg.plugin_api.contracts",
}

__all__ = [
    "Batch", "CellGraph", "CellState", "Context", "EmptyConfig", "Encoder", "FeatureSource", "GeneFeatures", "GraphSource", "Loss", "NewStrains", "Perturbation",
    "PerturbationHead", "PerturbationOp", "PhenotypeSource", "PhenotypeTable", "Plugin", "Prediction", "Relation",
    "StrainColumns", "hookimpl", "__version__",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cellreg' has no attribute {name!r}")
