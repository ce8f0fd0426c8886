"""cellreg: predict phenotypes of multiply-perturbed cells from gene networks.

Writing a plugin takes one module and one entry point; see :mod:`cellreg.plugin_api.hookspecs`.
"""

from cellreg.data.graph import CellGraph, Relation
from cellreg.plugin_api.hookspecs import hookimpl
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_api.plugin import EmptyConfig, Plugin
from cellreg.plugin_api.contracts import Batch, CellState, Context

__version__ = "0.1.0"

__all__ = [
    "Batch", "CellGraph", "CellState", "Context", "EmptyConfig", "Perturbation", "PhenotypeTable",
    "Plugin", "Relation", "hookimpl", "__version__",
]
