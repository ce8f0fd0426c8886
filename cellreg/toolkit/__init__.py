"""Public helpers for plugin authors (the core uses them too), documented in docs/plugins.md.

* :mod:`~cellreg.toolkit.layout`: node and edge key conventions of heterogeneous (metabolic) graphs, and
  the size of per-strain subgraphs;
* :mod:`~cellreg.toolkit.incidence`: sparse strain x gene incidence of a phenotype table;
* :mod:`~cellreg.toolkit.gene_rules`: gene-protein-reaction rules as a clause circuit;
* :mod:`~cellreg.toolkit.text_tables`: delimited text read with file-and-line errors, gene-name
  suggestions;
* :mod:`~cellreg.toolkit.atomic` and :mod:`~cellreg.toolkit.hashing`: crash-safe writes and content
  fingerprints for plugin caches.
"""
