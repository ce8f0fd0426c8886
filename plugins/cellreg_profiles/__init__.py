"""Vector phenotypes (expression and morphology profiles): the ``profiles`` phenotype source, which
reads AnnData ``.h5ad`` files, wide per-strain tables and the deleteome's gene-by-mutant matrix
(docs/profiles.md), and the ``vector`` head every family can use."""
