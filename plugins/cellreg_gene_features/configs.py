"""Config tables of the bundled features plugins, apart from their code: listing plugins and
checking configs import no torch."""

from __future__ import annotations

import attrs

from cellreg.toolkit.text_tables import not_empty


@attrs.frozen
class FileFeaturesConfig:
    """``name = "file"``: vectors from files. Several paths are shards of one table (each gene in one
    of them, the same columns); several ``[[features]]`` tables are joined column-wise."""

    paths: list[str] = attrs.field(validator=not_empty)
    genes: list[str] | None = None  # the gene-names file of each .npy / .safetensors path (default: X.genes.txt)

    def __attrs_post_init__(self) -> None:
        if self.genes is not None and len(self.genes) != len(self.paths):
            raise ValueError(f"'genes' must name one gene-names file per path ({len(self.paths)}), got {len(self.genes)}")


@attrs.frozen
class OneHotConfig:
    """``name = "onehot"``: the identity, one column per gene of the vocabulary (a free embedding
    through the encoder's projection: the baseline every representation must beat)."""


@attrs.frozen
class RandomFeaturesConfig:
    """``name = "random"``: a fixed Gaussian vector per gene (N(0, 1/dim)), from ``seed``."""

    dim: int = attrs.field(default=64, validator=attrs.validators.ge(1))
    seed: int | None = None  # default: the run's seed


@attrs.frozen
class CodonFrequencyConfig:
    """``name = "codon_frequency"``: the 64 codon frequencies of each gene's coding sequence."""

    fasta: str
    # which part of a FASTA header names the gene: "id" (up to the first space, SGD's systematic name
    # in orf_coding.fasta) or "gene=" style "key" (e.g. "gene" for NCBI's [gene=YAL001C])
    name_from: str = "id"
    min_codons: int = attrs.field(default=30, validator=attrs.validators.ge(1))  # shorter CDSs count as missing
