"""A strain's environment: what it was grown under (temperature, medium, a compound at a dose).

A phenotype is f(graphs, environment, perturbations) (design §7d): the same gene pair at 26 °C
and at 30 °C is two strains, and a model can only learn a temperature-sensitive interaction if
the temperature is an input. Each column is stored as arrays, a few bytes per strain:

* numeric (temperature in °C, time in generations): ``values`` in one ``unit``;
* categorical (medium, array type): ``codes`` into ``categories``;
* dose: ``codes`` into the compounds (``categories``) and ``values`` the dose, converted to one
  unit per physical dimension (µM for molar units, µg/ml for mass per volume, % as it is).

A table with no environment has ``Environment()``, and everything below is a no-op for it.
"""

from __future__ import annotations

import enum
from typing import Mapping, Sequence

import attrs
import numpy as np

from cellreg.toolkit.hashing import Hasher


class EnvKind(str, enum.Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DOSE = "dose"


# unit -> (the dimension's unit doses are converted to, factor); compared case-insensitively, µ as u
DOSE_UNITS: dict[str, tuple[str, float]] = {
    "pm": ("uM", 1e-6), "nm": ("uM", 1e-3), "um": ("uM", 1.0), "mm": ("uM", 1e3), "m": ("uM", 1e6),
    "ng/ml": ("ug/ml", 1e-3), "ug/ml": ("ug/ml", 1.0), "mg/ml": ("ug/ml", 1e3), "mg/l": ("ug/ml", 1.0),
    "g/l": ("ug/ml", 1e3), "%": ("%", 1.0),
}


def dose_unit(text: str) -> tuple[str, float]:
    """(canonical unit, factor) for a unit as files write it; ValueError listing the known ones."""
    key = text.strip().replace("µ", "u").replace("μ", "u").lower()
    if key not in DOSE_UNITS:
        raise ValueError(f"unknown dose unit {text!r}; known units: {', '.join(sorted({*DOSE_UNITS}))}")
    return DOSE_UNITS[key]


def _frozen(dtype):
    def convert(value):
        a = np.array(value, dtype=dtype, copy=True).reshape(-1)
        a.setflags(write=False)
        return a

    return attrs.field(converter=convert, eq=False)


@attrs.frozen(eq=False)
class EnvColumn:
    """One environment column over S strains (see the module docstring for what each kind stores)."""

    name: str
    kind: EnvKind = attrs.field(converter=EnvKind)
    values: np.ndarray = _frozen(np.float32)  # [S] numeric value or dose; NaN = unknown (categorical: zeros)
    codes: np.ndarray = _frozen(np.int32)  # [S] index into categories (numeric: zeros)
    categories: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    unit: str = ""

    def __attrs_post_init__(self) -> None:
        if len(self.values) != len(self.codes):
            raise ValueError(f"environment column {self.name!r}: {len(self.values)} values but {len(self.codes)} codes")
        if self.kind is not EnvKind.NUMERIC and len(self.codes) and (
                self.codes.min() < 0 or self.codes.max() >= len(self.categories)):
            raise ValueError(f"environment column {self.name!r}: a code outside its {len(self.categories)} categories")

    def select(self, rows: np.ndarray) -> "EnvColumn":
        return attrs.evolve(self, values=self.values[rows], codes=self.codes[rows])

    def text(self) -> np.ndarray:
        """[S] each strain's value as text (``26``, ``YPD``, ``rapamycin 10 uM``)."""
        if self.kind is EnvKind.CATEGORICAL:
            return np.asarray(self.categories, dtype=object)[self.codes]
        number = np.char.mod("%g", self.values.astype(np.float64)).astype(object)
        if self.kind is EnvKind.DOSE:
            return np.asarray(self.categories, dtype=object)[self.codes] + " " + number + (" " + self.unit)
        return number

    def describe(self) -> str:
        """Type, then the range (numeric) or the strains per value (``cellreg inspect``)."""
        unit = f" {self.unit}" if self.unit else ""
        finite = self.values[np.isfinite(self.values)]
        values, counts = np.unique(finite, return_counts=True)
        span = f"{finite.min():g} to {finite.max():g}{unit}" if len(finite) else "no values"
        numbers = _per_value([f"{v:g}" for v in values], counts)
        if self.kind is EnvKind.NUMERIC:
            return f"numeric, {span}; strains per value: {numbers}"
        names = _per_value(self.categories, np.bincount(self.codes, minlength=len(self.categories)))
        if self.kind is EnvKind.DOSE:
            return (f"dose, {len(self.categories):,} compounds, doses {span}; strains per compound: {names}; "
                    f"per dose: {numbers}")
        return f"categorical, {len(self.categories):,} values; strains per value: {names}"


def _per_value(names: Sequence[str], counts: np.ndarray, shown: int = 12) -> str:
    text = ", ".join(f"{v}: {c:,}" for v, c in zip(names[:shown], counts[:shown]))
    return text + (f", ... ({len(names):,} values)" if len(names) > shown else "")


def _string_hash(text: str) -> int:
    h = Hasher()
    h.update_strings([text])
    return int(h.hexdigest(16), 16)


@attrs.frozen(eq=False)
class Environment:
    """The environment columns of a table (none for most tables)."""

    columns: tuple[EnvColumn, ...] = attrs.field(default=(), converter=tuple)

    def __attrs_post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"environment columns named twice: {sorted({n for n in names if names.count(n) > 1})}")
        if len({len(c.codes) for c in self.columns}) > 1:
            raise ValueError("environment columns of different lengths")

    def __bool__(self) -> bool:
        return bool(self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> EnvColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"no environment column {name!r}; the table has: {', '.join(self.names) or 'none'}")

    def select(self, rows: np.ndarray) -> "Environment":
        return Environment(tuple(c.select(rows) for c in self.columns))

    def key(self, num_strains: int) -> np.ndarray:
        """[S] uint64: equal for strains grown under the same environment (values compared by their
        float32 bits, categories by name, so two tables' keys agree)."""
        from cellreg.data.strain_keys import mix64  # which imports the table, which imports this

        h = np.zeros(num_strains, np.uint64)
        for c in self.columns:
            salt = _string_hash(c.name + "|" + c.kind.value)
            if c.kind is not EnvKind.NUMERIC:
                names = np.array([_string_hash(s) for s in c.categories], np.uint64)  # per category, not strain
                h = mix64(h ^ np.uint64(salt) ^ names[c.codes])
            if c.kind is not EnvKind.CATEGORICAL:
                bits = np.where(np.isnan(c.values), np.float32(np.nan), c.values).view(np.uint32).astype(np.uint64)
                h = mix64(h ^ np.uint64(salt) ^ (bits + np.uint64(1)))
        return h

    def text(self) -> np.ndarray:
        """[S] one string per strain naming its whole environment (``temperature=26, medium=YPD``)."""
        out = None
        for c in self.columns:
            part = c.name + "=" + c.text()
            out = part if out is None else out + ", " + part
        return out

    def update(self, h: Hasher) -> None:
        for c in self.columns:
            h.update_strings(["|env", c.name, c.kind.value, c.unit, *c.categories])
            h.update_array(c.values)
            h.update_array(c.codes)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat arrays for an ``.npz`` (no pickle); :meth:`from_arrays` reads them back."""
        out: dict[str, np.ndarray] = {}
        for i, c in enumerate(self.columns):
            out[f"env{i}:meta"] = np.array([c.name, c.kind.value, c.unit], dtype=str)
            out[f"env{i}:values"], out[f"env{i}:codes"] = c.values, c.codes
            out[f"env{i}:categories"] = np.array(c.categories, dtype=str)
        return out

    @classmethod
    def from_arrays(cls, z: Mapping[str, np.ndarray], files: Sequence[str]) -> "Environment":
        columns, i = [], 0
        while f"env{i}:meta" in files:
            name, kind, unit = z[f"env{i}:meta"].tolist()
            columns.append(EnvColumn(name, kind, z[f"env{i}:values"], z[f"env{i}:codes"],
                                     z[f"env{i}:categories"].tolist(), unit))
            i += 1
        return cls(tuple(columns))


def concatenate_environments(parts: Sequence[Environment]) -> Environment:
    """Tables read with the same options, stacked (a published test file after the main table):
    categories merged by name."""
    first = next((p for p in parts if p), None)
    if first is None:
        return Environment()
    for p in parts:
        if p.names != first.names:
            raise ValueError(f"environment columns differ between the files: {list(first.names)} and {list(p.names)}")
    columns = []
    for j, ref in enumerate(first.columns):
        cols = [p.columns[j] for p in parts]
        units = {c.unit for c in cols}
        if len(units) > 1:
            raise ValueError(f"environment column {ref.name!r} has units {sorted(units)} in different files")
        categories = list(dict.fromkeys(cat for c in cols for cat in c.categories))
        where = {cat: k for k, cat in enumerate(categories)}
        codes = [np.array([where[cat] for cat in c.categories], np.int32)[c.codes] if c.categories
                 else np.zeros(len(c.codes), np.int32) for c in cols]
        columns.append(EnvColumn(ref.name, ref.kind, np.concatenate([c.values for c in cols]),
                                 np.concatenate(codes), categories, ref.unit))
    return Environment(tuple(columns))
