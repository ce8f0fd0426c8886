"""Config tables of the file plugins (``TableConfig`` is the core's strain-table format, see
:mod:`cellreg.data.strain_table`).

A column is an index (``source = 0``) or a header name (``source = "protein1"``); the core's strict
union hook accepts exactly those types (``3.7`` is not a column, ``true`` is not an index).
"""

from __future__ import annotations

from typing import Literal, Union

import attrs

from cellreg.data.strain_table import TableConfig
from cellreg.toolkit.text_tables import delimiter_field, not_empty

Column = Union[int, str]
"""A 0-based column index, or a header name."""

UnknownGenes = Literal["error", "drop"]


def _non_negative(_inst, attribute, value) -> None:
    if isinstance(value, int) and value < 0:
        raise ValueError(f"'{attribute.name}' must be a column index >= 0 (counting from 0), got {value}")


@attrs.frozen
class RowFilter:
    """Keep only rows whose ``column`` holds exactly ``equals`` (e.g. BioGRID's physical edges)."""

    column: Column = attrs.field(validator=_non_negative)
    equals: str


@attrs.frozen
class EdgeFile:
    """One ``[[graph.files]]`` table: where a file is and how to read its columns."""

    path: str
    relation: str | None = None
    relation_column: Column | None = attrs.field(default=None, validator=_non_negative)
    delimiter: str = delimiter_field()
    header: Literal["auto"] | bool = "auto"
    source: Column = attrs.field(default=0, validator=_non_negative)
    target: Column = attrs.field(default=1, validator=_non_negative)
    weight: Column | None = attrs.field(default=None, validator=_non_negative)
    directed: bool = False
    comment: str = "#"
    strip_prefix: str = ""
    min_score: float | None = None
    filter: RowFilter | None = None

    def __attrs_post_init__(self) -> None:
        if (self.relation is None) == (self.relation_column is None):
            raise ValueError("give exactly one of relation (a name) or relation_column (a column naming it)")
        if self.relation is not None and not self.relation.strip():
            raise ValueError("'relation' must be a non-empty name")
        if self.min_score is not None and self.weight is None:
            raise ValueError("'min_score' must come with a weight column (weight = ...)")
        if self.header is False and any(isinstance(c, str) for c in self.columns().values()):
            raise ValueError("columns are named but header = false; use column indices or header = true")

    def columns(self) -> dict[str, Column]:
        """Every configured column, by the option that names it."""
        cols = {"source": self.source, "target": self.target, "weight": self.weight,
                "relation_column": self.relation_column,
                "filter.column": self.filter.column if self.filter else None}
        return {k: v for k, v in cols.items() if v is not None}


@attrs.frozen
class EdgeListConfig:
    """``[graph] name = "edge_list"``: a gene vocabulary plus one or more edge files."""

    files: list[EdgeFile] = attrs.field(validator=not_empty)
    genes: str | None = None
    unknown_genes: UnknownGenes = "error"
    aliases: str | None = None  # alias file: a name, then the vocabulary's name (matching case-insensitive)


__all__ = ["Column", "EdgeFile", "EdgeListConfig", "RowFilter", "TableConfig"]
