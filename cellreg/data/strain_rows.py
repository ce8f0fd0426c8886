"""A strain table's rows, before any gene lookup: two engines, one result.

:func:`read_rows` parses with the columnar engine (:mod:`cellreg.toolkit.columnar`) and, where that
engine cannot promise the same result or finds a problem, with :func:`read_lines`, the line reader,
which is the reference and raises today's errors (file, line, column, expected value). Both give a
:class:`Rows`: distinct gene names plus a code per CSR entry, so genes are looked up once per name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import attrs
import numpy as np

from cellreg.data.phenotypes import Perturbation
from cellreg.data.text_columns import Category
from cellreg.toolkit.parallel_index import pool, take
from cellreg.toolkit.text_tables import TextTable, check_header, column_index, parse_floats, read_table, short_row

if TYPE_CHECKING:
    from cellreg.data.strain_table import TableConfig


class LabelError(ValueError):
    """A label cell that is not a number (the caller may add a hint about default labels)."""


@attrs.define
class Rows:
    """Parsed rows: CSR entries (``codes`` into ``names``), labels, carried text columns."""

    names: list[str]
    codes: np.ndarray  # [nnz] index into names
    kinds: np.ndarray  # [nnz] int8
    where: np.ndarray  # [nnz] which gene column (for messages)
    sizes: np.ndarray  # [R]
    labels: np.ndarray  # [R, L] float64
    text: dict[str, Category]  # the keep + conditions columns
    rows: np.ndarray | None  # [R] the data row (0 = the line after the header) of each row kept by the
    # filter; None where every row is kept (160 MB of np.arange at 20 M rows, for error messages alone)
    line_of: Callable[[np.ndarray], np.ndarray]  # data rows -> line numbers
    read: int  # data rows in the file
    other: list[list[str]] = attrs.field(factory=list)  # per row, predict's carried columns


@attrs.frozen
class Layout:
    """The configured columns resolved against the header line."""

    header: list[str]
    genes: list[int]
    kinds: int | None
    labels: list[int]
    label_names: list[str]
    text: dict[str, int]  # keep + conditions
    filters: list[tuple[int, frozenset[str]]]
    other: list[int]

    @property
    def need(self) -> int:
        used = self.genes + self.labels + list(self.text.values()) + [c for c, _ in self.filters]
        return max(used + ([self.kinds] if self.kinds is not None else [])) + 1


def layout(table, config: TableConfig, label_names: list[str], keep_other: bool) -> Layout:
    header = [h.strip() for h in table.first[1]]
    check_header(table, header)
    genes = [column_index(c, header, table, "genes") for c in config.gene_column_names]
    kinds = column_index(config.kinds, header, table, "kinds") if config.kinds is not None else None
    labels = [column_index(c, header, table, "labels") for c in label_names]
    text = {c: column_index(c, header, table, option) for option, cols in (
        ("keep", config.keep), ("conditions", config.conditions), ("environment", config.environment_columns))
            for c in cols}
    filters = [(column_index(f.column, header, table, f"filter[{i}].column"), f.accepted)
               for i, f in enumerate(config.filter)]
    used = set(genes + labels) | ({kinds} if kinds is not None else set())
    other = [j for j in range(len(header)) if j not in used] if keep_other else []
    return Layout(header, genes, kinds, labels, label_names, text, filters, other)


def no_row_kept(path: Path, config: TableConfig, present: list[set[str]], read: int) -> ValueError:
    """The filter keeps nothing: name the first condition that alone keeps no row, with the values
    its column holds."""
    for i, (f, values) in enumerate(zip(config.filter, present)):
        if not values & f.accepted:
            shown = sorted(values)
            listed = ", ".join(map(repr, shown[:20])) + (f", ... ({len(shown):,} values)" if len(shown) > 20 else "")
            return ValueError(f"{path}: filter[{i}] ({f.describe()}) keeps none of the {read:,} rows; "
                              f"column {f.column!r} holds: {listed or 'no rows'}")
    return ValueError(f"{path}: the filters together ({'; '.join(f.describe() for f in config.filter)}) keep none "
                      f"of the {read:,} rows")


# --- the line reader (the reference) ---------------------------------------------------------------


def read_lines(path: Path, config: TableConfig, label_names: list[str], keep_other: bool = False) -> tuple[Rows, Layout]:
    with read_table(path, config.delimiter, config.comment) as table:
        if table.first is None:
            raise ValueError(f"{path}: empty file (a header line naming the columns is needed)")
        lay = layout(table, config, label_names, keep_other)
        return _lines(table, config, lay), lay


def _lines(table: TextTable, config: TableConfig, lay: Layout) -> Rows:
    sep, suffix = config.gene_separator, config.strip_suffix
    drop = frozenset(config.drop_genes)
    default = config.default_code
    kind_cache: dict[str, int] = {}
    need = lay.need
    ids: dict[str, int] = {}
    codes, kinds, where, sizes, lines, other = [], [], [], [], [], []
    labels: list[list[str]] = [[] for _ in lay.labels]
    text_ids = {name: {} for name in lay.text}
    text_codes: dict[str, list[int]] = {name: [] for name in lay.text}
    present = [set() for _ in lay.filters]
    read = 0
    for n, cells in table.rows:
        read += 1
        if len(cells) < need:
            raise short_row(table, n, cells, need)
        if lay.filters:
            for seen, (c, _) in zip(present, lay.filters):
                seen.add(cells[c].strip())
            if not all(cells[c].strip() in ok for c, ok in lay.filters):
                continue
        genes: list[str] = []
        cols: list[int] = []
        for j, c in enumerate(lay.genes):
            for g in cells[c].split(sep):
                g = g.strip()
                if g:
                    genes.append(g.partition(suffix)[0] if suffix else g)
                    cols.append(j)
        if lay.kinds is None:
            row_kinds = [default] * len(genes)
        else:
            row_kinds = _kinds(table, n, config, cells[lay.kinds], len(genes), default, kind_cache)
        if drop:
            keep = [i for i, g in enumerate(genes) if g not in drop]
            genes, cols, row_kinds = [genes[i] for i in keep], [cols[i] for i in keep], [row_kinds[i] for i in keep]
        codes.extend(ids.setdefault(g, len(ids)) for g in genes)
        where.extend(cols)
        kinds.extend(row_kinds)
        sizes.append(len(genes))
        lines.append(n)
        for c, store in zip(lay.labels, labels):
            store.append(cells[c])
        for name, c in lay.text.items():
            text_codes[name].append(text_ids[name].setdefault(cells[c].strip(), len(text_ids[name])))
        if lay.other:
            other.append([cells[c] if c < len(cells) else "" for c in lay.other])
    if lay.filters and read and not lines:
        raise no_row_kept(table.path, config, present, read)
    line_arr = np.asarray(lines, dtype=np.int64)
    try:
        columns = [parse_floats(cells, line_arr, table.path, repr(name), missing_ok=True)
                   for name, cells in zip(lay.label_names, labels)]
    except ValueError as exc:
        raise LabelError(str(exc)) from None
    label_matrix = np.stack(columns, axis=1) if columns else np.zeros((len(lines), 0))
    text = {name: Category(list(text_ids[name]), np.asarray(text_codes[name], dtype=np.int32))
            for name in lay.text}
    return Rows(list(ids), np.asarray(codes, np.int64), np.asarray(kinds, np.int8), np.asarray(where, np.int8),
                np.asarray(sizes, np.int64), label_matrix.reshape(len(lines), len(columns)), text,
                None, lambda r: line_arr[r], read, other)


def _kinds(table: TextTable, line: int, config: TableConfig, cell: str, n_genes: int, default: int,
           cache: dict[str, int]) -> list[int]:
    """Per-gene kinds joined like the genes; one kind applies to every gene, an empty cell means the default."""
    parts = [p.strip() for p in cell.split(config.gene_separator) if p.strip()]
    if not parts:
        return [default] * n_genes
    if len(parts) not in (1, n_genes):
        raise ValueError(f"{table.path}: line {line}, column {config.kinds!r}: {len(parts)} kinds "
                         f"for {n_genes} genes")
    out = []
    for p in parts:
        code = cache.get(p)
        if code is None:
            try:
                code = cache[p] = int(Perturbation.parse(p))
            except ValueError as exc:
                raise ValueError(f"{table.path}: line {line}, column {config.kinds!r}: {exc}") from None
        out.append(code)
    return out * n_genes if len(out) == 1 else out


# --- the columnar engine ---------------------------------------------------------------------------


def read_rows(path: Path, config: TableConfig, label_names: list[str], engine: str = "auto",
              label_dtype=np.float64, hashed_meanwhile: bool = False) -> tuple[Rows, Layout]:
    """The columnar engine, or the line reader where it falls back (``engine = "lines"`` forces it).
    ``label_dtype``: the columnar engine's labels (float32 for a table that keeps them as read: each
    number rounded once, as the table would, without a float64 copy of 20 M rows). ``hashed_meanwhile``:
    :meth:`~cellreg.toolkit.columnar.ColumnFile.read`'s."""
    from cellreg.toolkit.columnar import ColumnFile, Fallback

    if engine == "lines":
        return read_lines(path, config, label_names)
    file = ColumnFile(path, config.delimiter, config.comment)
    if file.first is None:
        raise ValueError(f"{path}: empty file (a header line naming the columns is needed)")
    lay = layout(file, config, label_names, keep_other=False)
    try:
        return _columns(file, config, lay, label_dtype, hashed_meanwhile), lay
    except Fallback:
        return read_lines(path, config, label_names)


def _columns(file, config: TableConfig, lay: Layout, label_dtype, hashed_meanwhile: bool = False) -> Rows:
    from cellreg.toolkit.columnar import dictionary, floats, release_arrow_memory

    text_cols = set(lay.genes) | set(lay.text.values()) | {c for c, _ in lay.filters}
    if lay.kinds is not None:
        text_cols.add(lay.kinds)
    cols = file.read(text=sorted(text_cols), numbers=lay.labels, missing=True, hashed_meanwhile=hashed_meanwhile)
    table, read, line_of = cols.table, cols.num_rows, cols.line_of
    del cols  # the rows keep their line numbers, not the Arrow table
    labels = np.empty((read, len(lay.labels)), label_dtype)  # each column parsed straight into its place
    # columns are converted side by side (most of the time is the first touch of their new arrays)
    encoding = {c: pool().submit(dictionary, table, f"c{c}") for c in text_cols}
    numbers = [pool().submit(floats, table, f"c{c}", True, labels[:, j]) for j, c in enumerate(lay.labels)]
    enc = {c: job.result() for c, job in encoding.items()}
    for job in numbers:
        job.result()
    rows = None  # every row kept: index nothing (a copy per column at 20 M rows)
    if lay.filters:
        keep = np.ones(read, bool)
        present = []
        for c, ok in lay.filters:
            values, codes = enc[c]
            stripped = [v.strip() for v in values]
            present.append(set(np.asarray(stripped, dtype=object)[np.unique(codes)]) if read else set())
            keep &= np.isin(codes, [i for i, v in enumerate(stripped) if v in ok])
        if read and not keep.any():
            raise no_row_kept(file.path, config, present, read)
        rows = None if keep.all() else np.flatnonzero(keep)
    labels = _rows_of(labels, rows)
    del table
    release_arrow_memory()
    n_rows = read if rows is None else len(rows)
    names, codes, kinds, where, sizes = _entries(config, lay, enc, rows, n_rows)
    text = {}
    for name, c in lay.text.items():
        values, row_codes = enc[c]
        distinct: dict[str, int] = {}
        to = np.asarray([distinct.setdefault(v.strip(), len(distinct)) for v in values], dtype=np.int32)
        row_codes = _rows_of(row_codes, rows)
        if len(to) and not np.array_equal(to, np.arange(len(to))):  # values that strip to one: codes merged
            row_codes = take(to, row_codes)
        text[name] = Category(list(distinct), row_codes if len(to) else np.zeros(n_rows, np.int32))
    return Rows(names, codes, kinds, where, sizes, labels, text, rows, line_of, read)


def _rows_of(a: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return a if rows is None else a[rows]


def _entries(config: TableConfig, lay: Layout, enc: dict, rows: np.ndarray | None, n_rows: int):
    """CSR entries in the line reader's order (row, then gene column, then position in the cell),
    computed over distinct cells and expanded with numpy."""
    sep, suffix, drop = config.gene_separator, config.strip_suffix, frozenset(config.drop_genes)
    ids: dict[str, int] = {}
    cell_off, cell_gene, cell_dropped, bases = [0], [], [], [0]
    for c in lay.genes:
        values, codes = enc[c]
        for v in values:
            genes = [g.strip() for g in v.split(sep)]
            genes = [g.partition(suffix)[0] if suffix else g for g in genes if g]
            cell_gene.extend(ids.setdefault(g, len(ids)) for g in genes)
            cell_dropped.extend(g in drop for g in genes)
            cell_off.append(len(cell_gene))
        bases.append(bases[-1] + len(values))
    cell_off = np.asarray(cell_off, np.int64)
    cell_gene = np.asarray(cell_gene, np.int32)
    cell_dropped = np.asarray(cell_dropped, bool)
    n_cols = len(lay.genes)
    per_cell = np.diff(cell_off)
    row_codes = [_rows_of(enc[c][1], rows) for c in lay.genes]
    if (per_cell == 1).all():  # one gene in every distinct cell (Costanzo): a cell is its gene, no expansion
        genes = np.empty((n_rows, n_cols), np.int32)
        dropped = np.empty((n_rows, n_cols), bool) if drop else None
        for j, codes in enumerate(row_codes):  # each column's genes gathered straight into its place
            take(cell_gene[bases[j]:bases[j + 1]], codes, out=genes[:, j])
            if drop:
                np.take(cell_dropped[bases[j]:bases[j + 1]], codes, out=dropped[:, j])
        genes, dropped = genes.reshape(-1), (dropped.reshape(-1) if drop else None)
        where = np.tile(np.arange(n_cols, dtype=np.int8), n_rows)
        sizes = np.full(n_rows, n_cols, np.int64)
        row_of = None if (lay.kinds is None and not drop) else np.repeat(np.arange(n_rows), n_cols)
    else:
        pair_cell = np.stack([codes + np.int32(b) for codes, b in zip(row_codes, bases)], axis=1).ravel() \
            if n_rows else np.zeros(0, np.int32)  # row-major (row, col)
        per_pair = per_cell[pair_cell]
        total = int(per_pair.sum())
        entry_pair = np.repeat(np.arange(len(pair_cell)), per_pair)
        pair_start = np.cumsum(per_pair) - per_pair
        entry = cell_off[pair_cell][entry_pair] + (np.arange(total) - pair_start[entry_pair])
        del per_pair, pair_start
        where = (entry_pair % n_cols).astype(np.int8)
        row_of = entry_pair // n_cols
        sizes = np.bincount(row_of, minlength=n_rows).astype(np.int64)
        del pair_cell
        genes = cell_gene[entry]
        dropped = cell_dropped[entry] if drop else None
        del entry
    kinds = _entry_kinds(config, lay, enc, rows, sizes, row_of, len(genes))
    if drop:
        kept = ~dropped
        genes, where, kinds, row_of = genes[kept], where[kept], kinds[kept], row_of[kept]
        sizes = np.bincount(row_of, minlength=n_rows).astype(np.int64)
    return list(ids), genes, kinds, where, sizes


def _entry_kinds(config: TableConfig, lay: Layout, enc: dict, rows: np.ndarray | None, sizes: np.ndarray,
                 row_of: np.ndarray | None, nnz: int) -> np.ndarray:
    """Each entry's kind: the row's kinds cell holds none (the default), one kind for every gene, or
    one per gene; anything else falls back so the line reader names the line."""
    from cellreg.toolkit.columnar import Fallback

    default = config.default_code
    if lay.kinds is None:
        return np.full(nnz, default, np.int8)
    values, codes = enc[lay.kinds]
    off, flat = [0], []
    for v in values:
        parts = [p.strip() for p in v.split(config.gene_separator) if p.strip()]
        try:
            flat.extend(int(Perturbation.parse(p)) for p in parts)
        except ValueError:
            raise Fallback("an unknown kind") from None
        off.append(len(flat))
    off = np.asarray(off, np.int64)
    flat = np.asarray(flat + [default], np.int8)
    cell = _rows_of(codes, rows)
    n_parts = np.diff(off)[cell]
    if not np.isin(n_parts, [0, 1]).all() and (~np.isin(n_parts, [0, 1]) & (n_parts != sizes)).any():
        raise Fallback("kinds do not match genes")
    start = np.cumsum(sizes) - sizes
    pos = np.arange(len(row_of)) - start[row_of]
    parts = n_parts[row_of]
    index = np.where(parts == 0, len(flat) - 1, off[cell][row_of] + np.where(parts == 1, 0, pos))
    return flat[index]
