"""Bundled file readers: gene-gene edge lists into a CellGraph, perturbation tables into strains.

Options and worked examples for real formats (STRING, BioGRID, Costanzo, Kuzmin): docs/data_files.md.
"""

from cellreg import Plugin, hookimpl
from cellreg_files.configs import EdgeListConfig, TableConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="graph", name="edge_list",
               factory="cellreg_files.edges:EdgeListSource", config=EdgeListConfig,
               description="gene-gene edge-list files (plain, STRING, BioGRID) as named relations"),
        Plugin(kind="phenotypes", name="table",
               factory="cellreg_files.table:PerturbationTableSource", config=TableConfig,
               description="a delimited perturbation table: genes in one or more columns, one column per label"),
    ]
