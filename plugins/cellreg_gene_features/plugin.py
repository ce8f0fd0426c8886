"""Bundled per-gene features: files of embeddings, and the cheap representations they are compared
against (one-hot, random, codon usage). docs/features.md."""

from cellreg import Plugin, hookimpl
from cellreg_gene_features.configs import CodonFrequencyConfig, FileFeaturesConfig, OneHotConfig, RandomFeaturesConfig


@hookimpl
def cellreg_plugins():
    return [
        Plugin(kind="features", name="file", factory="cellreg_gene_features.files:FileFeatures", config=FileFeaturesConfig,
               description="per-gene vectors from TSV/CSV, .npy or safetensors (+ a names file), or Parquet"),
        Plugin(kind="features", name="onehot", factory="cellreg_gene_features.generated:OneHotFeatures",
               config=OneHotConfig, description="one column per gene: a free embedding, the reference representation"),
        Plugin(kind="features", name="random", factory="cellreg_gene_features.generated:RandomFeatures",
               config=RandomFeaturesConfig, description="a fixed random Gaussian vector per gene"),
        Plugin(kind="features", name="codon_frequency", factory="cellreg_gene_features.codons:CodonFrequency",
               config=CodonFrequencyConfig, description="the 64 codon frequencies of each gene's CDS (FASTA, Biopython)"),
    ]
