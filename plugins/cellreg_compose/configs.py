"""The ``[graph] name = "compose"`` table, apart from its code: listing plugins and checking
configs import no torch."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from cellreg.toolkit.text_tables import not_empty


@attrs.frozen
class ComposeConfig:
    """Several graph sources over one vocabulary. Each ``[[graph.sources]]`` table is a graph plugin's
    own table (``name`` plus its options) and may add ``map_genes``: a file mapping that source's gene
    names to the vocabulary's (for sources without an alias option of their own)."""

    sources: list[dict[str, Any]] = attrs.field(validator=not_empty)
    genes: str | None = None  # the vocabulary, one name per line; default: the union of the sources
    unknown_genes: Literal["error", "drop"] = "error"  # a source's gene that the vocabulary file lacks
