"""``[[features]] name = "codon_frequency"``: codon usage of each coding sequence, read with
Biopython's FASTA parser (the ``features`` extra)."""

from __future__ import annotations

import itertools
import re
from typing import Sequence

import numpy as np

from cellreg import Context, FeatureSource, GeneFeatures
from cellreg_gene_features.configs import CodonFrequencyConfig

CODONS = ["".join(c) for c in itertools.product("TCAG", repeat=3)]
_BASE = np.full(256, -1, np.int64)
for _i, _b in enumerate("TCAG"):
    _BASE[ord(_b)] = _BASE[ord(_b.lower())] = _i
_BASE[ord("U")] = _BASE[ord("u")] = 0


def codon_frequencies(sequence: str) -> tuple[np.ndarray, int]:
    """(64 frequencies summing to 1, codons counted) over the in-frame codons made of ACGT/U only
    (a codon with an N or another ambiguity code is skipped)."""
    raw = np.frombuffer(sequence.encode("ascii", "replace"), np.uint8)
    bases = _BASE[raw[:len(raw) // 3 * 3]].reshape(-1, 3)
    ok = (bases >= 0).all(1)
    counts = np.bincount(bases[ok] @ np.array([16, 4, 1]), minlength=len(CODONS)).astype(np.float64)
    total = int(ok.sum())
    return (counts / total if total else counts).astype(np.float32), total


class CodonFrequency(FeatureSource):
    def __init__(self, config: CodonFrequencyConfig, context: Context) -> None:
        self.config = config
        self.path = context.resolve(config.fasta)

    def check(self) -> list[str]:
        return [] if self.path.is_file() else [f"fasta: no such file: {self.path}"]

    def _name(self, record) -> str:
        if self.config.name_from == "id":
            return record.id
        found = re.search(rf"\[{re.escape(self.config.name_from)}=([^\]]+)\]", record.description)
        if found is None:
            raise ValueError(f"{self.path}: record {record.id!r} has no [{self.config.name_from}=...] in its header "
                             f"({record.description[:80]!r})")
        return found[1].strip()

    def load(self, genes: Sequence[str]) -> GeneFeatures:
        try:
            from Bio import SeqIO
        except ImportError:
            raise ImportError("codon_frequency features need Biopython: pip install 'cellreg[features]'") from None
        names, rows, short = [], [], 0
        with open(self.path) as handle:
            for record in SeqIO.parse(handle, "fasta"):
                freq, n = codon_frequencies(str(record.seq))
                if n < self.config.min_codons:
                    short += 1
                    continue
                names.append(self._name(record))
                rows.append(freq)
        if not rows:
            raise ValueError(f"{self.path}: no FASTA record with at least {self.config.min_codons} codons "
                             f"({short} shorter)")
        dup = next((n for n, c in zip(*np.unique(names, return_counts=True)) if c > 1), None)
        if dup is not None:
            raise ValueError(f"{self.path}: two records name gene {dup!r}")
        return GeneFeatures(names, np.stack(rows), [f"codon:{c}" for c in CODONS])
