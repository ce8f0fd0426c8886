"""The organism and its strains as data: the graph, the phenotype table, splits, label scaling and batches."""
