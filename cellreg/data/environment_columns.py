"""How a strain table declares its environment columns (``[[phenotypes.environment]]``), and the
step that turns the text cells read for them into an :class:`~cellreg.data.environment.Environment`.

Cells are parsed once per distinct value, never per row, so a 20 M-row table with four
temperatures parses four numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Protocol, Sequence

import attrs
import numpy as np

from cellreg.data.environment import EnvColumn, EnvKind, Environment, dose_unit

EnvType = Literal["numeric", "categorical", "dose", "costanzo_screen"]
COSTANZO_SCREEN = re.compile(r"^([A-Za-z]+)\s*(\d+(?:\.\d+)?)$")  # DMA26, TSA30: array type + temperature (°C)


class Cells(Protocol):
    """A text column read as its distinct values plus a code per row."""

    values: list[str]
    codes: np.ndarray


@attrs.frozen
class EnvironmentSpec:
    """One ``[[phenotypes.environment]]`` table.

    ``numeric``: a number per row in ``unit``; ``categorical``: a name per row; ``dose``: the
    compound in ``column`` and its dose in ``dose_column``, in ``unit`` or a per-row unit from
    ``unit_column`` (converted to one unit per dimension: µM, µg/ml or %); ``costanzo_screen``:
    Costanzo 2016's ``Arraytype/Temp`` (DMA26 ...), read as ``array_type`` (categorical) and
    ``temperature`` (numeric, °C).
    """

    column: str
    type: EnvType
    name: str | None = None  # the environment column's name; default: `column` lower-cased, spaces as _
    unit: str = ""
    dose_column: str | None = None
    unit_column: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.type == "dose":
            if self.dose_column is None:
                raise ValueError(f"environment {self.column!r}: type = \"dose\" needs dose_column (the column of doses)")
            if bool(self.unit) == (self.unit_column is not None):
                raise ValueError(f"environment {self.column!r}: a dose needs exactly one of unit (one for every row) "
                                 "or unit_column (a column of units)")
            if self.unit:
                dose_unit(self.unit)
        elif self.dose_column is not None or self.unit_column is not None:
            raise ValueError(f"environment {self.column!r}: dose_column and unit_column belong to type = \"dose\"")
        if self.type == "costanzo_screen" and self.name is not None:
            raise ValueError(f"environment {self.column!r}: costanzo_screen names its columns array_type and "
                             "temperature; leave name out")

    @property
    def source_columns(self) -> list[str]:
        """The table columns this reads."""
        return [c for c in (self.column, self.dose_column, self.unit_column) if c is not None]

    @property
    def names(self) -> dict[str, EnvKind]:
        """The environment columns this gives, with their kinds."""
        if self.type == "costanzo_screen":
            return {"array_type": EnvKind.CATEGORICAL, "temperature": EnvKind.NUMERIC}
        return {self.name or re.sub(r"\W+", "_", self.column.strip().lower()).strip("_"): EnvKind(self.type)}


def environment_kinds(specs: Sequence[EnvironmentSpec]) -> dict[str, EnvKind]:
    out: dict[str, EnvKind] = {}
    for spec in specs:
        for name, kind in spec.names.items():
            if name in out:
                raise ValueError(f"environment column {name!r} is declared twice")
            out[name] = kind
    return out


def _numbers(path: Path, column: str, values: list[str]) -> np.ndarray:
    out = np.empty(len(values), np.float64)
    for i, v in enumerate(values):  # distinct cell values, not rows
        text = v.strip()
        try:
            out[i] = float(text) if text and text.upper() not in ("NA", "NAN") else np.nan
        except ValueError:
            raise ValueError(f"{path}: column {column!r} holds {v!r}, which is not a number (environment "
                             "columns of type numeric and dose need numbers; use type = \"categorical\" for names)") \
                from None
    return out


def _categories(cells: Cells) -> tuple[list[str], np.ndarray]:
    names = [v.strip() for v in cells.values]
    where: dict[str, int] = {}
    to = np.array([where.setdefault(n, len(where)) for n in names], np.int32)
    distinct = list(where)
    return distinct, to[cells.codes] if len(to) else np.zeros(len(cells.codes), np.int32)


def read_environment(specs: Sequence[EnvironmentSpec], text: dict[str, Cells], path: Path) -> Environment:
    """The declared environment of the rows whose text cells are ``text`` (one entry per source column)."""
    columns: list[EnvColumn] = []
    for spec in specs:
        cells = text[spec.column]
        ((name, kind),) = spec.names.items() if spec.type != "costanzo_screen" else ((None, None),)
        if spec.type == "numeric":
            values = _numbers(path, spec.column, cells.values)[cells.codes]
            columns.append(EnvColumn(name, kind, values, np.zeros(len(values), np.int32), (), spec.unit))
        elif spec.type == "categorical":
            categories, codes = _categories(cells)
            columns.append(EnvColumn(name, kind, np.zeros(len(codes), np.float32), codes, categories))
        elif spec.type == "dose":
            columns.append(_dose(spec, name, text, path))
        else:
            columns.extend(_costanzo_screen(spec, cells, path))
    return Environment(tuple(columns))


def _dose(spec: EnvironmentSpec, name: str, text: dict[str, Cells], path: Path) -> EnvColumn:
    compounds, codes = _categories(text[spec.column])
    doses = _numbers(path, spec.dose_column, text[spec.dose_column].values)[text[spec.dose_column].codes]
    if spec.unit_column is None:
        unit, factor = dose_unit(spec.unit)
        return EnvColumn(name, EnvKind.DOSE, doses * factor, codes, compounds, unit)
    units = text[spec.unit_column]
    parsed = []
    for v in units.values:
        try:
            parsed.append(dose_unit(v))
        except ValueError as exc:
            raise ValueError(f"{path}: column {spec.unit_column!r}: {exc}") from None
    dims = {u for u, _ in parsed} if parsed else {"uM"}
    if len(dims) > 1:
        raise ValueError(f"{path}: column {spec.unit_column!r} mixes units of different kinds ({', '.join(sorted(dims))}); "
                         "doses of one column are converted to one unit")
    factor = np.array([f for _, f in parsed], np.float64)[units.codes] if parsed else 1.0
    return EnvColumn(name, EnvKind.DOSE, doses * factor, codes, compounds, dims.pop())


def _costanzo_screen(spec: EnvironmentSpec, cells: Cells, path: Path) -> list[EnvColumn]:
    arrays, temps = [], []
    for v in cells.values:
        m = COSTANZO_SCREEN.match(v.strip())
        if m is None:
            raise ValueError(f"{path}: column {spec.column!r} holds {v!r}; costanzo_screen expects an array type "
                             "and a temperature, as DMA26, DMA30, TSA26 or TSA30")
        arrays.append(m.group(1).upper())
        temps.append(float(m.group(2)))
    where: dict[str, int] = {}
    array_codes = np.array([where.setdefault(a, len(where)) for a in arrays], np.int32)[cells.codes] if arrays \
        else np.zeros(len(cells.codes), np.int32)
    distinct = list(where)
    temperature = np.array(temps, np.float64)[cells.codes] if temps else np.zeros(len(cells.codes))
    return [EnvColumn("array_type", EnvKind.CATEGORICAL, np.zeros(len(array_codes), np.float32), array_codes, distinct),
            EnvColumn("temperature", EnvKind.NUMERIC, temperature, np.zeros(len(array_codes), np.int32), (), "C")]
