"""cellreg: predict phenotypes of multiply-perturbed cells from gene networks.

Writing a plugin takes one module and one entry point (see :mod:`cellreg.plugin_api.hookspecs`);
its objects subclass the base classes exported here (:mod:`cellreg.plugin_api.contracts`).
"""

from cellreg.data.graph import CellGraph, Relation
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_api.contracts import (
    Batch, CellState, Context, Encoder, GraphSource, Loss, PerturbationHead, PerturbationOp, PhenotypeSource,
    Prediction, StrainColumns,
)
from cellreg.plugin_api.hookspecs import hookimpl
from cellreg.plugin_api.plugin import EmptyConfig, Plugin

__version__ = "0.1.0"

__all__ = [
    "Batch", "CellGraph", "CellState", "Context", "EmptyConfig", "Encoder", "GraphSource", "Loss", "Perturbation",
    "PerturbationHead", "PerturbationOp", "PhenotypeSource", "PhenotypeTable", "Plugin", "Prediction", "Relation",
    "StrainColumns", "hookimpl", "__version__",
]
