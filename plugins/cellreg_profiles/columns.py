"""Reading numeric columns with pyarrow, and saying which cell is not a number when one is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.toolkit.text_tables import parse_floats


def delimiter_of(path: Path) -> str:
    return "," if path.suffix.lower() == ".csv" else "\t"


def numeric(table: pa.Table, index: int, path: Path, first_line: int, name: str | None = None) -> np.ndarray:
    """Column ``index`` as float64 (nulls -> NaN); a text cell is an error naming its line and the
    column (``name``, default the table's name for it)."""
    column = table.column(index)
    name = table.column_names[index] if name is None else name
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_null(column.type):
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    cells = [("" if c is None else str(c)) for c in column.to_pylist()]
    lines = np.arange(first_line, first_line + len(cells))
    return parse_floats(cells, lines, path, repr(name), missing_ok=True)


def strings(table: pa.Table, name: str) -> list[str]:
    column = table.column(name)
    return [("" if c is None else str(c)).strip() for c in pc.cast(column, pa.string()).to_pylist()]
