"""Per-gene vector files in the formats embeddings come in: delimited text (gene, values...),
``.npy`` or safetensors with a gene-names file beside them, and Parquet.

One reader for ``[[features]] name = "file"`` and ``cellreg predict --added-features``, so what trains
a run also scores it. Text and Parquet go through pyarrow (an ESM embedding of 6,600 genes is 8.5 M
cells); a text file that pyarrow cannot parse is re-read line by line, only to name the bad line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellreg.data.records import GeneFeatures
from cellreg.toolkit.text_tables import is_number, read_table

TEXT = (".tsv", ".txt", ".csv", ".tab")
ARRAYS = (".npy", ".safetensors")
FORMATS = TEXT + ARRAYS + (".parquet",)


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def names_file(path: Path) -> Path:
    """Where the gene names of an array file are by default: ``emb.npy`` -> ``emb.genes.txt``."""
    return path.with_suffix(".genes.txt")


def read_vectors(path: str | Path, genes_file: str | Path | None = None) -> GeneFeatures:
    """The vectors in ``path``; ``genes_file`` (one name per line) names the rows of an array file."""
    path = Path(path)
    kind = _suffix(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if kind in TEXT:
        return _text(path)
    if kind == ".parquet":
        return _parquet(path)
    if kind in ARRAYS:
        return _array(path, Path(genes_file) if genes_file is not None else names_file(path))
    raise ValueError(f"{path}: unknown feature file format {kind or '(no suffix)'!r}; expected one of "
                     f"{', '.join(FORMATS)} (text may be gzipped)")


def _from_rows(path: Path, genes: list[str], values: np.ndarray, columns: list[str]) -> GeneFeatures:
    if not genes:
        raise ValueError(f"{path}: no gene vectors in the file")
    seen: dict[str, int] = {}
    for i, g in enumerate(genes):
        if g in seen:
            raise ValueError(f"{path}: gene {g!r} has two vectors (rows {seen[g] + 1} and {i + 1} of its data)")
        seen[g] = i
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(1))[0])
        raise ValueError(f"{path}: the vector of {genes[row]!r} holds NaN or infinite values")
    return GeneFeatures(genes, values.astype(np.float32, copy=False), columns)


def _text_layout(path: Path) -> tuple[str, list[str] | None, int]:
    """(delimiter, header cells or None, lines before the data) from the first data line."""
    with read_table(path, "auto", "#") as table:
        if table.first is None:
            raise ValueError(f"{path}: empty file (expected: gene name, then one value per column)")
        line, cells = table.first
        if len(cells) < 2:
            raise ValueError(f"{path}: line {line}: expected a gene name and at least one value")
        header = None if all(is_number(c) for c in cells[1:]) else [c.strip() for c in cells]
        return table.delimiter, header, line - 1


def _text(path: Path) -> GeneFeatures:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter, header, skip = _text_layout(path)
    if delimiter == " ":  # runs of whitespace: not a pyarrow dialect
        return _text_slowly(path, header)
    try:
        table = pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(skip_rows=skip + (header is not None), autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(column_types={"f0": pa.string()}))
        values = np.column_stack([table.column(i).to_numpy(zero_copy_only=False).astype(np.float64)
                                  for i in range(1, table.num_columns)])
        genes = [g.strip() for g in table.column(0).to_pylist()]
    except (pa.ArrowInvalid, ValueError, TypeError):
        return _text_slowly(path, header)  # names the bad line, or reads what pyarrow would not
    columns = header[1:] if header is not None else [f"{path.stem}:{j}" for j in range(values.shape[1])]
    if len(columns) != values.shape[1]:
        return _text_slowly(path, header)
    return _from_rows(path, genes, values, columns)


def _text_slowly(path: Path, header: list[str] | None) -> GeneFeatures:
    genes, rows = [], []
    width = len(header) - 1 if header is not None else None
    with read_table(path, "auto", "#") as table:
        lines = table.rows if header is not None else [table.first, *table.rows]
        for line, cells in lines:
            values = cells[1:]
            width = len(values) if width is None else width
            if len(values) != width:
                raise ValueError(f"{path}: line {line}: {len(values)} values, expected {width} like the "
                                 f"{'header' if header is not None else 'first line'}")
            bad = next((c for c in values if not is_number(c)), None)
            if bad is not None:
                raise ValueError(f"{path}: line {line}: {bad.strip()!r} is not a number (gene {cells[0].strip()!r})")
            genes.append(cells[0].strip())
            rows.append([float(c) for c in values])
    columns = header[1:] if header is not None else [f"{path.stem}:{j}" for j in range(width or 0)]
    return _from_rows(path, genes, np.asarray(rows, dtype=np.float64).reshape(len(rows), width or 0), columns)


def _parquet(path: Path) -> GeneFeatures:
    """The first string column holds the genes; every numeric column, or one list column, the values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    kinds = {f.name: f.type for f in table.schema}
    gene_col = next((n for n, t in kinds.items() if pa.types.is_string(t) or pa.types.is_large_string(t)), None)
    if gene_col is None:
        raise ValueError(f"{path}: no string column of gene names (columns: {', '.join(kinds)})")
    numeric = [n for n, t in kinds.items() if pa.types.is_integer(t) or pa.types.is_floating(t)]
    lists = [n for n, t in kinds.items() if pa.types.is_list(t) or pa.types.is_fixed_size_list(t)
             or pa.types.is_large_list(t)]
    if numeric and not lists:
        values = np.column_stack([table.column(n).to_numpy(zero_copy_only=False) for n in numeric])
        columns = numeric
    elif len(lists) == 1 and not numeric:
        cells = table.column(lists[0]).to_pylist()
        widths = {len(c) for c in cells if c is not None}
        if len(widths) != 1 or any(c is None for c in cells):
            raise ValueError(f"{path}: column {lists[0]!r} holds vectors of different lengths or nulls")
        values = np.asarray(cells, dtype=np.float64)
        columns = [f"{lists[0]}:{j}" for j in range(values.shape[1])]
    else:
        raise ValueError(f"{path}: expected numeric value columns or one list column beside {gene_col!r}; "
                         f"got {', '.join(f'{n} ({t})' for n, t in kinds.items())}")
    genes = [str(g).strip() if g is not None else "" for g in table.column(gene_col).to_pylist()]
    return _from_rows(path, genes, np.asarray(values, dtype=np.float64), columns)


def _array(path: Path, genes_file: Path) -> GeneFeatures:
    if _suffix(path) == ".npy":
        values = np.load(path, allow_pickle=False)
    else:
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
        if len(tensors) != 1:
            raise ValueError(f"{path}: expected one tensor, found {', '.join(sorted(tensors)) or 'no tensor'}")
        values = next(iter(tensors.values()))
    if values.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array [genes, features], got shape {list(values.shape)}")
    if not genes_file.is_file():
        raise ValueError(f"{path}: its gene names file {genes_file} is missing (one name per line, in row order; "
                         "name it with genes = ... in [[features]])")
    genes = [line.strip() for line in genes_file.read_text().splitlines() if line.strip()]
    if len(genes) != len(values):
        raise ValueError(f"{genes_file}: {len(genes):,} gene names for the {len(values):,} rows of {path}")
    return _from_rows(path, genes, np.asarray(values, dtype=np.float64), [f"{path.stem}:{j}" for j in range(values.shape[1])])
