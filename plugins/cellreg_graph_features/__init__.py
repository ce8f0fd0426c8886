"""Gene features computed from graphs (docs/real_benchmark.md): each gene's edges to a set of anchor
genes, from any graph source built through the registry."""
