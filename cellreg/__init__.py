"""cellreg: predict phenotypes of multiply-perturbed cells from gene networks.

Writing a plugin takes one module and one entry point; see :mod:`cellreg.hookspecs`.
"""

from cellreg.graph import CellGraph, Relation
from cellreg.hookspecs import hookimpl
from cellreg.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_types import EmptyConfig, Plugin
from cellreg.protocols import Batch, CellState, Context

__version__ = "0.1.0"

__all__ = [
    "Batch", "CellGraph", "CellState", "Context", "EmptyConfig", "Perturbation", "PhenotypeTable",
    "Plugin", "Relation", "hookimpl", "__version__",
]
