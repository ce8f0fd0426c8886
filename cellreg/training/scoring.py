"""What scoring a trained run's new strains needs wherever it happens (``cellreg predict``,
``cellreg screen``): the vectors of genes the organism never had, and the explain hooks' output as
text columns, named by what each mechanism ranks (genes, or ontology terms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cellreg.config import ConfigError
from cellreg.data.gene_features import JoinedFeatures
from cellreg.data.vector_files import read_vectors
from cellreg.toolkit.text_tables import suggest


def read_added_features(path: Path, names: tuple[str, ...], joined: JoinedFeatures | None = None) -> torch.Tensor:
    """Vectors of the added genes ``names`` from a file in any ``[[features]] name = "file"`` format;
    with the run's ``joined`` features, the values of its tables side by side (their missing-indicator
    columns are put in place) or the full width."""
    try:
        vectors = read_vectors(path)
    except ValueError as exc:
        raise ConfigError(str(path), [str(exc)]) from None
    index = {g: i for i, g in enumerate(vectors.genes)}
    missing = [g for g in names if g not in index]
    if missing:
        raise ConfigError(str(path), [f"no features for added gene(s): {', '.join(missing[:5])}"
                                      f"{suggest(missing[0], vectors.genes)}"])
    values = vectors.values[[index[g] for g in names]]
    if joined is not None:
        try:
            values = joined.widen(values)
        except ValueError as exc:
            raise ConfigError(str(path), [str(exc)]) from None
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def format_top(names: tuple[str, ...], idx: torch.Tensor, weight: torch.Tensor) -> list[str]:
    return [";".join(f"{names[i]}:{w:.4g}" for i, w in zip(row_i.tolist(), row_w.tolist()))
            for row_i, row_w in zip(idx, weight)]


def explain_columns(parts, state, batch, k: int, gene_names: tuple[str, ...]) -> dict[str, list[str]]:
    """Per mechanism of the model parts that explain, a ``name:weight;...`` cell per strain; indices
    are genes unless the part names them (``explained_names``)."""
    out: dict[str, list[str]] = {}
    for part in parts:
        for mechanism, (idx, weight) in part.explain(state, batch, k).items():
            names = part.explained_names(mechanism)
            out[mechanism] = format_top(gene_names if names is None else names, idx.cpu(), weight.cpu())
    return out
