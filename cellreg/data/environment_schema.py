"""What a model knows of the environment columns it reads: fitted on training rows, saved with the
run, and used to encode every later table (validation, test, ``cellreg predict``, ``screen``)
the same way.

Categories are matched by name, so a table whose medium column lists its values in another order
encodes alike; a value never seen in training gets the unknown slot (index ``len(categories)``)
with a notice saying how many strains use it. A numeric value outside the training range is a
notice giving that range: the model extrapolates there.
"""

from __future__ import annotations

import logging
from typing import Sequence

import attrs
import numpy as np

from cellreg.data.environment import EnvColumn, EnvKind, Environment
from cellreg.data.environment_columns import EnvironmentSpec

log = logging.getLogger("cellreg")


@attrs.frozen
class EnvColumnSchema:
    name: str
    kind: EnvKind = attrs.field(converter=EnvKind)
    unit: str = ""
    categories: tuple[str, ...] = attrs.field(default=(), converter=tuple)  # seen in training
    mean: float = 0.0  # numeric: of the value; dose: of log1p(dose); over training rows
    std: float = 1.0
    low: float = float("nan")  # training range of the value (numeric) or dose
    high: float = float("nan")

    @classmethod
    def fit(cls, column: EnvColumn, rows: np.ndarray) -> "EnvColumnSchema":
        values = column.values[rows].astype(np.float64)
        finite = values[np.isfinite(values)]
        if column.kind is EnvKind.DOSE:
            finite = finite[finite >= 0]
        scaled = np.log1p(finite) if column.kind is EnvKind.DOSE else finite
        categories = ()
        if column.kind is not EnvKind.NUMERIC:
            seen = np.unique(column.codes[rows])
            categories = tuple(column.categories[i] for i in seen)
        std = float(scaled.std()) if len(scaled) > 1 else 1.0
        return cls(column.name, column.kind, column.unit, categories,
                   float(scaled.mean()) if len(scaled) else 0.0, std if std > 1e-12 else 1.0,
                   float(finite.min()) if len(finite) else float("nan"),
                   float(finite.max()) if len(finite) else float("nan"))

    def encode(self, column: EnvColumn, where: str) -> tuple[np.ndarray, np.ndarray]:
        """(values [S] float32, codes [S] int32) of ``column`` against this schema."""
        if column.kind is not self.kind:
            raise ValueError(f"{where}: environment column {self.name!r} is {column.kind.value} here but was "
                             f"{self.kind.value} in training")
        values = column.values.astype(np.float32)
        if self.kind is EnvKind.DOSE and column.unit != self.unit:
            raise ValueError(f"{where}: environment column {self.name!r} is in {column.unit or 'no unit'} here but "
                             f"in {self.unit} in training")
        codes = np.zeros(len(values), np.int32)
        if self.kind is not EnvKind.NUMERIC:
            index = {c: i for i, c in enumerate(self.categories)}
            lookup = np.array([index.get(c, len(self.categories)) for c in column.categories], np.int32)
            codes = lookup[column.codes] if len(lookup) else codes
            unseen = codes == len(self.categories)
            if unseen.any():
                names = sorted({column.categories[i] for i in np.unique(column.codes[unseen])})
                log.warning("%s: %s value%s of environment column %r never seen in training (%s): %s strains use "
                            "its 'unknown' slot", where, len(names), "s" * (len(names) > 1), self.name,
                            ", ".join(names[:5]) + (", ..." if len(names) > 5 else ""), f"{int(unseen.sum()):,}")
        if self.kind is not EnvKind.CATEGORICAL and np.isfinite(self.low):
            finite = values[np.isfinite(values)]
            outside = int(((finite < self.low) | (finite > self.high)).sum())
            if outside:
                log.warning("%s: %s strains have %s %s outside the training range %g to %g%s: the model extrapolates",
                            where, f"{outside:,}", self.name, "doses" if self.kind is EnvKind.DOSE else "values",
                            self.low, self.high, f" {self.unit}" if self.unit else "")
        return values, codes


@attrs.frozen
class EnvironmentSchema:
    """The environment columns a model reads, in the order of its ``[[environment]]`` terms."""

    columns: tuple[EnvColumnSchema, ...] = attrs.field(default=(), converter=tuple)

    def __bool__(self) -> bool:
        return bool(self.columns)

    @classmethod
    def fit(cls, environment: Environment, names: Sequence[str], rows: np.ndarray) -> "EnvironmentSchema":
        return cls(tuple(EnvColumnSchema.fit(environment.column(n), rows) for n in names))

    def encode(self, environment: Environment, num_strains: int, where: str) -> tuple[np.ndarray, np.ndarray]:
        """(values [S, C] float32, codes [S, C] int32): what the collate puts in ``env_values`` and
        ``env_codes`` (as long). A column the model reads that the table lacks is an error naming it."""
        values = np.zeros((num_strains, len(self.columns)), np.float32)
        codes = np.zeros((num_strains, len(self.columns)), np.int32)
        for j, col in enumerate(self.columns):
            if col.name not in environment.names:
                have = ", ".join(environment.names) or "none"
                raise ValueError(f"{where}: no environment column {col.name!r}, which the run was trained with "
                                 f"(this table's environment columns: {have}); declare it as in training "
                                 "([[phenotypes.environment]])")
            values[:, j], codes[:, j] = col.encode(environment.column(col.name), where)
        return values, codes

    def specs(self) -> tuple[EnvironmentSpec, ...]:
        """How a file of new strains gives these columns: one column per name, a dose as the
        compound in ``<name>`` and the dose, in the training unit, in ``<name>_dose``."""
        return tuple(EnvironmentSpec(c.name, c.kind.value, name=c.name, unit=c.unit if c.kind is EnvKind.NUMERIC else "")
                     if c.kind is not EnvKind.DOSE else
                     EnvironmentSpec(c.name, "dose", name=c.name, dose_column=f"{c.name}_dose", unit=c.unit)
                     for c in self.columns)

    def to_dict(self) -> list[dict]:
        return [{**attrs.asdict(c), "kind": c.kind.value, "categories": list(c.categories)} for c in self.columns]

    @classmethod
    def from_dict(cls, data: list[dict] | None) -> "EnvironmentSchema":
        return cls(tuple(EnvColumnSchema(**d) for d in data or []))


def parse_assignments(items: Sequence[str], where: str) -> dict[str, str]:
    """``["temperature=26", "inhibitor=inhibitor:10"]`` -> ``{name: value}`` (``--environment``)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{where} {item!r}: expected KEY=VALUE, e.g. temperature=26, medium=YPD or "
                             "compound=rapamycin:10 (a compound and its dose)")
        if name.strip() in out:
            raise ValueError(f"{where}: {name.strip()!r} is given twice")
        out[name.strip()] = value.strip()
    return out


def constant_environment(schema: EnvironmentSchema, values: dict[str, str], num_strains: int,
                         where: str) -> Environment:
    """Every one of ``num_strains`` strains under one environment (``cellreg screen --environment``):
    numeric and categorical columns take the value, a dose column ``compound:dose`` in the unit the
    run was trained in."""
    names = [c.name for c in schema.columns]
    problems = [f"{where}: no environment column {k!r}; the run reads: {', '.join(names) or 'none'}"
                for k in values if k not in names]
    missing = [n for n in names if n not in values]
    if missing:
        problems.append(f"{where}: the run was trained with environment column{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)}; give {' '.join(f'{m}=VALUE' for m in missing)}")
    if problems:
        raise ValueError("; ".join(problems))
    zeros = np.zeros(num_strains, np.int32)
    columns = []
    for col in schema.columns:
        text = values[col.name]
        if col.kind is EnvKind.CATEGORICAL:
            columns.append(EnvColumn(col.name, col.kind, np.zeros(num_strains, np.float32), zeros, (text,)))
            continue
        compound, _, number = text.rpartition(":") if col.kind is EnvKind.DOSE else ("", "", text)
        try:
            value = float(number)
        except ValueError:
            form = "compound:dose, e.g. rapamycin:10" if col.kind is EnvKind.DOSE else "a number"
            raise ValueError(f"{where} {col.name}={text}: expected {form}") from None
        if col.kind is EnvKind.DOSE and not compound:
            raise ValueError(f"{where} {col.name}={text}: expected compound:dose (in {col.unit}), e.g. "
                             f"{(col.categories or ('rapamycin',))[0]}:10")
        columns.append(EnvColumn(col.name, col.kind, np.full(num_strains, value, np.float32), zeros,
                                 (compound,) if compound else (), col.unit))
    return Environment(tuple(columns))
