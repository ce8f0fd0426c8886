"""The ``[[features]]`` tables, aligned to the graph's vocabulary and joined column-wise into
``CellGraph.gene_features``.

A gene a table gives no vector gets the table's ``missing`` policy: an error, or zeros plus a 0/1
indicator column, so a model can tell "no embedding" from "an embedding of zeros". Either way the
count is reported. The layout is kept, so vectors of genes added at predict time get the same columns.
"""

from __future__ import annotations

import logging
from typing import Sequence

import attrs
import numpy as np

from cellreg.config.errors import DataError
from cellreg.data.records import GeneFeatures
from cellreg.toolkit.text_tables import suggest

log = logging.getLogger("cellreg")


@attrs.frozen
class FeatureBlock:
    """Where one ``[[features]]`` table's columns sit in the joined matrix."""

    name: str
    width: int  # value columns
    indicator: bool  # one more column: 1 where the gene had no vector


@attrs.frozen(eq=False)
class JoinedFeatures:
    values: np.ndarray  # [N, F] float32
    blocks: tuple[FeatureBlock, ...]
    missing: dict[str, int]  # table -> vocabulary genes it gave no vector

    def widen(self, plain: np.ndarray) -> np.ndarray:
        """Vectors of genes added at predict time, given as the tables' value columns side by side:
        the indicator columns (0: the vector is there) put in place."""
        width = sum(b.width for b in self.blocks)
        if plain.shape[1] == self.values.shape[1]:
            return plain
        if plain.shape[1] != width:
            raise ValueError(f"added-gene vectors have {plain.shape[1]} columns; the run's features have {width} "
                             f"({' + '.join(f'{b.name} {b.width}' for b in self.blocks)})")
        out, start = [], 0
        for b in self.blocks:
            out.append(plain[:, start:start + b.width])
            start += b.width
            if b.indicator:
                out.append(np.zeros((len(plain), 1), plain.dtype))
        return np.concatenate(out, axis=1)


def align(genes: Sequence[str], features: GeneFeatures, name: str, missing: str) -> tuple[np.ndarray, int]:
    """``features`` on the rows of ``genes``: [N, F] (+ an indicator column with ``zeros``) and the
    count of genes without a vector."""
    index = {g: i for i, g in enumerate(features.genes)}
    rows = np.fromiter((index.get(g, -1) for g in genes), dtype=np.int64, count=len(genes))
    absent = rows < 0
    count = int(absent.sum())
    if count and missing == "error":
        examples = [g for g, a in zip(genes, absent) if a][:5]
        hint = suggest(examples[0], features.genes)
        raise DataError(name, [f"{count:,} of {len(genes):,} genes of the vocabulary have no vector, e.g. "
                               f"{', '.join(examples)}{hint}; set missing = \"zeros\" in this [[features]] table "
                               "to give them zeros and a missing-indicator column"])
    values = np.zeros((len(genes), len(features.columns)), np.float32)
    values[~absent] = features.values[rows[~absent]]
    if missing == "zeros":
        values = np.concatenate([values, absent[:, None].astype(np.float32)], axis=1)
    unused = len(features.genes) - (len(genes) - count)
    if count:
        log.warning("%s: %s of %s genes have no vector: zeros and a missing indicator", name, f"{count:,}",
                    f"{len(genes):,}")
    if unused:
        log.info("%s: %s vectors name genes outside the vocabulary (ignored)", name, f"{unused:,}")
    return values, count


def join(genes: Sequence[str], tables: Sequence[tuple[str, str, GeneFeatures]]) -> JoinedFeatures:
    """``(name, missing policy, features)`` per table, aligned and joined column-wise in order."""
    parts, blocks, missing = [], [], {}
    for name, policy, features in tables:
        values, count = align(genes, features, name, policy)
        parts.append(values)
        blocks.append(FeatureBlock(name, len(features.columns), policy == "zeros"))
        missing[name] = count
    return JoinedFeatures(np.concatenate(parts, axis=1), tuple(blocks), missing)
