"""What a plugin author writes against, in one place: the contracts of each kind, the records they
hand each other, the data types sources build (re-exported from :mod:`cellreg.data`, which never
imports this package: layers point one way), the plugin record and the hook marker.

``from cellreg import X`` gives every name here. Names are imported on first use, so
``from cellreg import Plugin, hookimpl`` stays free of torch.
"""

from __future__ import annotations

import importlib

# name -> the module that defines it
PUBLIC = {
    "hookimpl": "cellreg.plugin_api.hookspecs",
    "Plugin": "cellreg.plugin_api.plugin", "EmptyConfig": "cellreg.plugin_api.plugin",
    "CellGraph": "cellreg.data.graph", "Relation": "cellreg.data.graph",
    "Perturbation": "cellreg.data.phenotypes", "PhenotypeTable": "cellreg.data.phenotypes",
    "GeneFeatures": "cellreg.data.records", "NewStrains": "cellreg.data.records",
    "Hierarchy": "cellreg.data.hierarchy",
    "LabelGroup": "cellreg.data.label_groups", "GroupKind": "cellreg.data.label_groups",
    "Context": "cellreg.plugin_api.sources", "GraphSource": "cellreg.plugin_api.sources",
    "PhenotypeSource": "cellreg.plugin_api.sources", "StrainColumns": "cellreg.plugin_api.sources",
    "FeatureSource": "cellreg.plugin_api.sources",
    "Batch": "cellreg.plugin_api.contracts", "CellState": "cellreg.plugin_api.contracts",
    "Encoder": "cellreg.plugin_api.contracts", "Loss": "cellreg.plugin_api.contracts",
    "PerturbationHead": "cellreg.plugin_api.contracts", "PerturbationOp": "cellreg.plugin_api.contracts",
    "Prediction": "cellreg.plugin_api.contracts", "EnvironmentEncoder": "cellreg.plugin_api.contracts",
    "Environment": "cellreg.data.environment", "EnvColumn": "cellreg.data.environment",
    "EnvColumnSchema": "cellreg.data.environment_schema",
}

__all__ = sorted(PUBLIC)


def __getattr__(name: str):
    if name in PUBLIC:
        value = getattr(importlib.import_module(PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cellreg.plugin_api' has no attribute {name!r}")
