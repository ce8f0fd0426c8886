"""What every format shares: its options, the header check (missing columns listed), a streamed
tab-separated reader, constant environment columns (``--env temperature=30C``), and the fitness of
a row's sub-strains (a query's single-mutant fitness repeated on every row it was screened in) kept
once per strain and environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Iterator, Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.store.rows import KIND_NAMES, Part, Phenotype, count_keys, digits, slug, undigit

BLOCK = 64 << 20  # bytes of text per streamed batch (~850,000 Costanzo rows)
CONSTANT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*)?$")


@attrs.frozen
class ImportOptions:
    """Options of ``cellreg data import`` beyond the format: they are part of what makes an import
    the same as an earlier one (with the file's sha256)."""

    env: tuple[str, ...] = ()  # NAME=VALUE[UNIT]: one environment for every row (temperature=30C, medium=YPD)
    units: tuple[str, ...] = ()  # UNIT for every phenotype, or PHENOTYPE=UNIT
    phenotype: str | None = None  # dcell, h5ad: the phenotype group's name
    kind: str = "deletion"  # dcell, h5ad: the perturbation kind of every gene
    table: dict = attrs.field(factory=dict)  # table: the `table` source's column options
    condition_column: str = "condition"  # h5ad
    control: str = "ctrl"  # h5ad

    def key(self) -> dict:
        return attrs.asdict(self)

    def unit_for(self, phenotype: str, default: str) -> str:
        for u in self.units:
            name, sep, unit = u.partition("=")
            if sep and name.strip() == phenotype:
                return unit.strip()
        plain = [u for u in self.units if "=" not in u]
        return plain[-1].strip() if plain else default

    def constants(self) -> list[tuple[str, str, str, float | str]]:
        """(name, kind, unit, value) of each ``--env``: a number (then its unit) is numeric, else categorical."""
        out = []
        for item in self.env:
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ValueError(f"--env {item!r}: expected NAME=VALUE, e.g. temperature=30C or medium=YPD")
            m = CONSTANT.match(value)
            if m:
                out.append((slug(name), "numeric", (m.group(2) or "").strip(), float(m.group(1))))
            else:
                out.append((slug(name), "categorical", "", value.strip()))
        return out


class Format:
    """One file format. ``columns`` are the header names the format needs (checked before reading)."""

    name: ClassVar[str]  # its name on the command line: the class name, lower-cased (__init_subclass__)
    citation: ClassVar[str] = ""  # the publication the format comes from (the default --cite)
    columns: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = cls.__name__.lower()  # Costanzo2016 -> costanzo2016, DCell -> dcell

    def __init__(self, path: Path, options: ImportOptions) -> None:
        self.path, self.options = Path(path), options

    def header(self) -> list[str]:
        with open(self.path, encoding="utf-8-sig") as f:
            first = f.readline()
        return [h.strip() for h in first.rstrip("\r\n").split("\t")]

    def check(self) -> None:
        """A file lacking a column the format needs is an error listing every missing one."""
        if not self.path.is_file():
            raise ValueError(f"{self.path}: no such file")
        header = self.header()
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise ValueError(f"{self.path}: not a {self.name} file: missing column{'s' * (len(missing) > 1)} "
                             f"{', '.join(map(repr, missing))}; its header has: {', '.join(map(repr, header))}")

    def parts(self) -> Iterator[Part]:
        raise NotImplementedError

    def batches(self, strings: Sequence[str], numbers: Sequence[str]) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(first data row, batch) of the tab-separated file, only the named columns, streamed."""
        import pyarrow.csv as csv

        types = {c: pa.string() for c in strings} | {c: pa.float64() for c in numbers}
        reader = csv.open_csv(self.path, read_options=csv.ReadOptions(block_size=BLOCK),
                              parse_options=csv.ParseOptions(delimiter="\t", quote_char=False),
                              convert_options=csv.ConvertOptions(include_columns=list(types), column_types=types,
                                                                 strings_can_be_null=False))
        start = 0
        for batch in reader:
            yield start, batch
            start += batch.num_rows

    def with_constants(self, part: Part) -> Part:
        """``part`` with the ``--env`` columns added."""
        n = part.table.num_rows
        table, env = part.table, dict(part.env)
        for name, kind, unit, value in self.options.constants():
            column = f"env.{name}"
            if column in table.column_names:
                raise ValueError(f"--env {name}: the file already gives environment column {name!r}")
            array = pa.array(np.full(n, value, np.float64)) if kind == "numeric" else \
                pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value]))
            table = table.append_column(column, array)
            env[name] = (kind, unit)
        return Part(part.phenotype, table, env)


def row_table(strains, env: dict[str, pa.Array], value: pa.Array, stats: dict[str, pa.Array],
              feature: pa.Array | None = None) -> pa.Table:
    """A part's columns in the store's order."""
    cols = strains.columns() | {f"env.{k}": v for k, v in env.items()}
    if feature is not None:
        cols["feature"] = feature
    cols["value"] = value
    cols |= stats
    return pa.table(cols)


class SubstrainFitness:
    """The fitness of strains that rows name besides their own (a query's single-mutant fitness on
    every row it was screened in), gathered batch by batch and kept once per strain id and environment
    (the mean of its rows, which agree in these files). Each batch is reduced through integer keys
    (one sort of the batch's codes); only the reduced rows are grouped by text at the end."""

    def __init__(self) -> None:
        self.groups: list[pa.Table] = []

    def add(self, ids: pa.Array, env: dict[str, pa.Array], value: pa.Array) -> None:
        key, dictionaries, dims = digits([ids, *env.values()])
        x = np.asarray(value.cast(pa.float64()).fill_null(np.nan))
        seen = ~np.isnan(x)
        present, _, sums, n = count_keys(key, dims, [np.where(seen, x, 0.0), seen.astype(np.float64)])
        values = undigit(present, dictionaries, dims)
        cols = {"id": values[0].cast(pa.string())}
        for k, v in zip(env, values[1:]):
            cols[f"env.{k}"] = v.cast(pa.string()) if pa.types.is_string(v.type) else v
        cols["value_sum"], cols["value_count"] = pa.array(sums), pa.array(n)
        self.groups.append(pa.table(cols))

    def part(self, phenotype: Phenotype, env_meta: dict[str, tuple[str, str]], parser, stats: Sequence[str]) -> Part | None:
        if not self.groups:
            return None
        t = pa.concat_tables(self.groups)
        keys = [c for c in t.column_names if c == "id" or c.startswith("env.")]
        t = t.group_by(keys).aggregate([("value_sum", "sum"), ("value_count", "sum")])
        t = t.filter(pc.greater(t["value_count_sum"], 0))
        value = pc.divide(t["value_sum_sum"], t["value_count_sum"])
        strains = parser([t["id"]])
        rows = np.flatnonzero(np.asarray(pc.list_value_length(strains.genes)) > 0)
        env = {k[4:]: t[k].combine_chunks().take(pa.array(rows)) for k in keys if k != "id"}
        nulls = {s: pa.nulls(len(rows), pa.float64()) for s in stats}
        table = row_table(strains.take(rows), env, value.combine_chunks().take(pa.array(rows)), nulls)
        return Part(phenotype, table, env_meta)


__all__ = ["BLOCK", "Format", "ImportOptions", "KIND_NAMES", "SubstrainFitness", "row_table"]
