"""Bundled file readers: gene-gene edge lists into a CellGraph, perturbation tables into strains.

Options and worked examples for real formats (STRING, BioGRID, Costanzo, Kuzmin): docs/data_files.md.
"""

from cellreg import Context, Plugin, hookimpl
from cellreg_files.configs import EdgeListConfig, TableConfig
from cellreg_files.edges import EdgeListSource
from cellreg_files.table import PerturbationTableSource


def edge_list(config: EdgeListConfig, context: Context) -> EdgeListSource:
    return EdgeListSource(config, context)


def table(config: TableConfig, context: Context) -> PerturbationTableSource:
    return PerturbationTableSource(config, context)


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="edge_list", factory=edge_list, config=EdgeListConfig,
               description="gene-gene edge-list files (plain, STRING, BioGRID) as named relations"),
        Plugin(kind="phenotypes", name="table", factory=table, config=TableConfig,
               description="a delimited perturbation table: genes in one or more columns, one column per label"),
    ]
