"""Strain tables: one strain per row, its genes in one or more columns, one column per label.

The core reads new strains with this (``cellreg predict``) whatever source a run was trained on;
a phenotype source that reads such files can use this reader with its options taken from its config.

Rows are read once into a flat list of gene names plus per-strain sizes (CSR), label cells stay
strings per column and are cast by numpy in one go; names are looked up in the graph at the end.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import attrs
import numpy as np

from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_api.sources import NewStrains
from cellreg.toolkit.text_tables import TextTable, check_header, column_index, parse_floats, read_table, short_row, \
    delimiter_field, not_empty, suggest, unknown_genes_message

if TYPE_CHECKING:
    from cellreg.data.graph import CellGraph

TableUnknownGenes = Literal["error", "drop", "add"]  # add: genes marked `addition` extend the vocabulary
KindName = Literal["deletion", "knockdown", "overexpression", "addition"]


@attrs.frozen
class TableConfig:
    """How a strain table is laid out and read: one strain per row, genes in one or more columns."""

    path: str
    genes: str | None = None
    gene_columns: list[str] | None = None
    gene_separator: str = attrs.field(default="+", validator=not_empty)
    kinds: str | None = None
    default_kind: KindName = "deletion"
    labels: list[str] | None = None  # [] = no labels (a table to score with `cellreg predict`)
    delimiter: str = delimiter_field()
    comment: str = "#"
    unknown_genes: TableUnknownGenes = "error"
    strip_suffix: str | None = None
    drop_genes: list[str] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if (self.genes is None) == (self.gene_columns is None):
            raise ValueError("give exactly one of genes (one column, genes joined by gene_separator) "
                             "or gene_columns (a list of columns)")
        if self.gene_columns is not None and not self.gene_columns:
            raise ValueError("'gene_columns' must not be empty")
        if self.strip_suffix == "":
            raise ValueError("'strip_suffix' must not be empty (leave it out instead)")

    @property
    def gene_column_names(self) -> list[str]:
        return [self.genes] if self.genes is not None else list(self.gene_columns)

    @property
    def default_code(self) -> int:
        return int(Perturbation.parse(self.default_kind))


class _Rows:
    """The hot loop's output: CSR gene names, kind codes, the column of each name, label cells."""

    def __init__(self, n_labels: int):
        self.names: list[str] = []
        self.kinds: list[int] = []
        self.where: list[int] = []  # index into the gene columns, for messages
        self.sizes: list[int] = []
        self.lines: list[int] = []
        self.labels: list[list[str]] = [[] for _ in range(n_labels)]
        self.other: list[list[str]] = []  # per row, the cells of the columns carried through (predict)


def _read(table: TextTable, config: TableConfig, gene_idx: list[int], kind_idx: int | None,
          label_idx: list[int], other_idx: list[int]) -> _Rows:
    out = _Rows(len(label_idx))
    sep, suffix = config.gene_separator, config.strip_suffix
    drop = frozenset(config.drop_genes)
    default = config.default_code
    kind_cache: dict[str, int] = {}
    need = max(gene_idx + label_idx + ([kind_idx] if kind_idx is not None else [])) + 1
    names, kinds, where, sizes, lines = out.names, out.kinds, out.where, out.sizes, out.lines
    label_cells = list(zip(label_idx, out.labels))
    for n, cells in table.rows:
        if len(cells) < need:
            raise short_row(table, n, cells, need)
        genes: list[str] = []
        cols: list[int] = []
        for j, c in enumerate(gene_idx):
            for g in cells[c].split(sep):
                g = g.strip()
                if g:
                    genes.append(g.partition(suffix)[0] if suffix else g)
                    cols.append(j)
        if kind_idx is None:
            codes = [default] * len(genes)
        else:
            codes = _kinds(table, n, config, cells[kind_idx], len(genes), default, kind_cache)
        if drop:
            keep = [i for i, g in enumerate(genes) if g not in drop]
            genes, cols, codes = [genes[i] for i in keep], [cols[i] for i in keep], [codes[i] for i in keep]
        names.extend(genes)
        where.extend(cols)
        kinds.extend(codes)
        sizes.append(len(genes))
        lines.append(n)
        for c, store in label_cells:
            store.append(cells[c])
        if other_idx:
            out.other.append([cells[c] if c < len(cells) else "" for c in other_idx])
    return out


def _kinds(table: TextTable, line: int, config: TableConfig, cell: str, n_genes: int, default: int,
           cache: dict[str, int]) -> list[int]:
    """Per-gene kinds joined like the genes; one kind applies to every gene, an empty cell means the default."""
    parts = [p.strip() for p in cell.split(config.gene_separator) if p.strip()]
    if not parts:
        return [default] * n_genes
    if len(parts) not in (1, n_genes):
        raise ValueError(f"{table.path}: line {line}, column {config.kinds!r}: {len(parts)} kinds "
                         f"for {n_genes} genes")
    codes = []
    for p in parts:
        code = cache.get(p)
        if code is None:
            try:
                code = cache[p] = int(Perturbation.parse(p))
            except ValueError as exc:
                raise ValueError(f"{table.path}: line {line}, column {config.kinds!r}: {exc}") from None
        codes.append(code)
    return codes * n_genes if len(codes) == 1 else codes


def _label_names(path: Path, config: TableConfig, header: list[str]) -> list[str]:
    """The configured labels, or every column not holding genes or kinds."""
    used = set(config.gene_column_names) | ({config.kinds} if config.kinds is not None else set())
    names = config.labels if config.labels is not None else [h for h in header if h not in used]
    if not names and config.labels is None:
        raise ValueError(f"{path}: no label columns (every column holds genes or kinds); "
                         "set labels = [] for a table without labels")
    for name in names:
        if name in used:
            raise ValueError(f"{path}: column {name!r} is both a label and a gene/kinds column")
    return names


def table_label_names(path: Path, config: TableConfig) -> list[str]:
    """The labels a table provides, from its header line alone (cheap: for ``cellreg validate``)."""
    if config.labels is not None:
        return list(config.labels)
    with read_table(path, config.delimiter, config.comment) as table:
        if table.first is None:
            raise ValueError(f"{path}: empty file (a header line naming the columns is needed)")
        return _label_names(path, config, [h.strip() for h in table.first[1]])


def read_strain_table(path: Path, graph: CellGraph, config: TableConfig) -> PhenotypeTable:
    """The table at ``path`` (``config.path`` is ignored: the caller resolved it) against ``graph``."""
    return _Reader(config, Path(path)).load(graph)


def read_new_strains(path: Path, graph: CellGraph, config: TableConfig) -> NewStrains:
    """Strains to score: the table, and the file's other columns (an id, notes) to carry into the
    output. ``config.labels`` must be ``[]``."""
    reader = _Reader(config, Path(path), keep_other=True)
    table = reader.load(graph)
    return NewStrains(table, {name: [row[j] for row in reader.rows.other] for j, name in enumerate(reader.other)})


class _Reader:
    def __init__(self, config: TableConfig, path: Path, keep_other: bool = False):
        self.config, self.path, self.keep_other = config, path, keep_other
        self.other: list[str] = []

    def load(self, graph: CellGraph) -> PhenotypeTable:
        config = self.config
        with read_table(self.path, config.delimiter, config.comment) as table:
            if table.first is None:
                raise ValueError(f"{self.path}: empty file (a header line naming the columns is needed)")
            header = [h.strip() for h in table.first[1]]
            check_header(table, header)
            gene_names = config.gene_column_names
            gene_idx = [column_index(c, header, table, "genes") for c in gene_names]
            kind_idx = column_index(config.kinds, header, table, "kinds") if config.kinds is not None else None
            label_names = _label_names(self.path, config, header)
            label_idx = [column_index(c, header, table, "labels") for c in label_names]
            used = set(gene_idx + label_idx + ([kind_idx] if kind_idx is not None else []))
            other_idx = [j for j in range(len(header)) if j not in used] if self.keep_other else []
            self.other = [header[j] for j in other_idx]
            rows = self.rows = _read(table, config, gene_idx, kind_idx, label_idx, other_idx)
        lines = np.asarray(rows.lines, dtype=np.int64)
        hint = "" if config.labels is not None else \
            " (labels default to every column not holding genes or kinds; list them with labels = [...])"
        try:
            columns = [parse_floats(cells, lines, self.path, repr(name), missing_ok=True)
                       for name, cells in zip(label_names, rows.labels)]
        except ValueError as exc:
            raise ValueError(f"{exc}{hint}") from None
        labels = np.stack(columns, axis=1) if columns else np.zeros((len(lines), 0), np.float32)
        return self._build(graph, rows, lines, labels.reshape(len(lines), len(label_names)), label_names)

    def _build(self, graph: CellGraph, rows: _Rows, lines: np.ndarray, labels: np.ndarray,
               label_names: list[str]) -> PhenotypeTable:
        sizes = np.asarray(rows.sizes, dtype=np.int64)
        genes = graph.lookup(rows.names)
        kinds = np.asarray(rows.kinds, dtype=np.int8)
        unknown = genes < 0
        vocabulary = graph.genes
        if unknown.any() and self.config.unknown_genes == "add":
            genes, vocabulary = self._add(graph, rows, lines, genes, kinds, sizes)
            unknown = genes < 0
        if unknown.any():
            strain = np.repeat(np.arange(len(sizes)), sizes)
            bad_entries = np.flatnonzero(unknown)
            cols = self.config.gene_column_names
            msg = unknown_genes_message(
                self.path, [rows.names[i] for i in bad_entries], [int(lines[strain[i]]) for i in bad_entries],
                [f", column {cols[rows.where[i]]!r}" for i in bad_entries],
                f"the graph's {graph.num_genes:,}-gene vocabulary", graph.genes)
            if self.config.unknown_genes == "error":
                raise ValueError(msg + "; if they are genes of the organism, give the graph source a gene vocabulary "
                                 "that lists them (genes without edges stay in the graph); else set "
                                 'unknown_genes = "drop" to skip those strains')
            bad = np.zeros(len(sizes), dtype=bool)
            bad[strain[bad_entries]] = True
            warnings.warn(f"{msg}; dropped {int(bad.sum()):,} of {len(sizes):,} strains", stacklevel=3)
            keep_entry = ~bad[strain]
            genes, kinds, sizes, labels = genes[keep_entry], kinds[keep_entry], sizes[~bad], labels[~bad]
            lines = lines[~bad]
        genes, kinds, sizes = self._collapse_repeats(lines, genes, kinds, sizes, vocabulary)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return PhenotypeTable(offsets, genes, kinds, labels, label_names, vocabulary)

    def _collapse_repeats(self, lines: np.ndarray, genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray,
                          vocabulary: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A gene named twice in one strain (a query and an array allele of one gene, or a name left after
        ``strip_suffix``) is one perturbation: kept once, with a warning; with two different kinds it
        is an error."""
        strain = np.repeat(np.arange(len(sizes)), sizes)
        key = strain * max(len(vocabulary), 1) + genes
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        if len(first) == len(key):
            return genes, kinds, sizes
        clash = np.flatnonzero(kinds != kinds[first[inverse]])
        if len(clash):
            i = clash[0]
            raise ValueError(f"{self.path}: line {lines[strain[i]]}: gene {vocabulary[genes[i]]!r} appears twice in "
                             f"one strain with different kinds ({Perturbation(kinds[first[inverse[i]]]).name.lower()} "
                             f"and {Perturbation(kinds[i]).name.lower()})")
        keep = np.zeros(len(key), bool)
        keep[first] = True
        repeated = np.flatnonzero(~keep)
        warnings.warn(f"{self.path}: a gene named twice in one strain, in {len(np.unique(strain[repeated])):,} "
                      f"strain(s) (first: line {lines[strain[repeated[0]]]}, {vocabulary[genes[repeated[0]]]!r}); "
                      "each gene is kept once per strain", stacklevel=4)
        return genes[keep], kinds[keep], np.bincount(strain[keep], minlength=len(sizes))

    def _add(self, graph: CellGraph, rows: _Rows, lines: np.ndarray, genes: np.ndarray, kinds: np.ndarray,
             sizes: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """Unknown genes marked ``addition`` become new vocabulary entries after the graph's genes,
        in order of first appearance; any other unknown gene is an error."""
        unknown = np.flatnonzero(genes < 0)
        wrong = unknown[kinds[unknown] != Perturbation.ADDITION]
        if len(wrong):
            strain = np.repeat(np.arange(len(sizes)), sizes)
            i = wrong[0]
            hint = "" if self.config.kinds is not None else \
                "; kinds are read from the column named by `kinds` (`cellreg predict --kinds-column`)"
            raise ValueError(f"{self.path}: line {lines[strain[i]]}: gene {rows.names[i]!r} is not in the graph's "
                             f"vocabulary{suggest(rows.names[i], graph.genes)}; only genes marked 'addition' may be "
                             f"new ({len(wrong):,} such entries){hint}")
        new = list(dict.fromkeys(rows.names[i] for i in unknown))
        index = {name: graph.num_genes + j for j, name in enumerate(new)}
        genes = genes.copy()
        genes[unknown] = [index[rows.names[i]] for i in unknown]
        return genes, graph.genes + tuple(new)
