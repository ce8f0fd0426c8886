"""Strain tables: one strain per row, its genes in one or more columns, one column per label.

The core reads new strains with this (``cellreg predict``) whatever source a run was trained on;
a phenotype source that reads such files can use this reader with its options taken from its config.

Rows are parsed by :mod:`cellreg.data.strain_rows` (the columnar engine, with the line reader as its
reference and fallback) into distinct gene names plus a code per CSR entry; names are looked up
once each, then the optional steps run on arrays: drop unknown strains, collapse a gene named twice,
average replicates. The result is cached by content (:mod:`cellreg.toolkit.table_cache`).
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

import attrs
import numpy as np

from cellreg.data.environment import Environment
from cellreg.data.environment_columns import EnvironmentSpec, environment_kinds, read_environment
from cellreg.data.label_groups import GroupSpec
from cellreg.data.phenotypes import Perturbation, PhenotypeTable, hand_over
from cellreg.data.records import NewStrains
from cellreg.data.text_columns import Category
from cellreg.toolkit.parallel_index import beside, take
from cellreg.toolkit.text_tables import delimiter_field, not_empty, read_table, suggest, unknown_genes_message

if TYPE_CHECKING:
    from cellreg.data.graph import CellGraph

TableUnknownGenes = Literal["error", "drop", "add"]  # add: genes marked `addition` extend the vocabulary
KindName = Literal["deletion", "knockdown", "overexpression", "addition"]
log = logging.getLogger("cellreg")
READING_CODE = ("cellreg.data.strain_table", "cellreg.data.strain_rows", "cellreg.data.replicates",
                "cellreg.data.environment", "cellreg.data.environment_columns",
                "cellreg.toolkit.columnar", "cellreg.toolkit.text_tables", "cellreg.toolkit.gene_names")
"""The modules whose code decides a loaded table: a change to any of them retires its cache entries."""


@attrs.frozen
class ColumnFilter:
    """Keep rows whose ``column`` holds ``equals``, or one of ``one_of`` (cells compared after
    trimming spaces): e.g. one screen, ``{ column = "Arraytype/Temp", equals = "DMA30" }``."""

    column: str = attrs.field(validator=not_empty)
    equals: str | None = None
    one_of: list[str] | None = None

    def __attrs_post_init__(self) -> None:
        if (self.equals is None) == (self.one_of is None):
            raise ValueError(f"filter on {self.column!r}: give exactly one of equals (a value) or one_of "
                             "(a list of values)")
        if self.one_of is not None and not self.one_of:
            raise ValueError(f"filter on {self.column!r}: 'one_of' must not be empty")

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset([self.equals.strip()] if self.equals is not None else [v.strip() for v in self.one_of])

    def describe(self) -> str:
        if self.equals is not None:
            return f"column {self.column!r} equals {self.equals!r}"
        return f"column {self.column!r} one of {', '.join(map(repr, self.one_of))}"


@attrs.frozen
class TableStats:
    """What loading a table did, for ``cellreg inspect`` and the log: rows in the file, rows the
    filter removed, strains dropped for unknown genes, strains with a gene named twice, and rows
    merged into another by ``aggregate = "mean"`` (``merged_strains`` strains came from 2+ rows)."""

    rows: int
    filtered_out: int
    unknown_dropped: int
    repeated_genes: int
    replicate_rows: int
    merged_strains: int
    strains: int

    def describe(self) -> str:
        parts = [f"{self.rows:,} rows"]
        if self.filtered_out:
            parts.append(f"{self.filtered_out:,} filtered out")
        if self.unknown_dropped:
            parts.append(f"{self.unknown_dropped:,} with unknown genes dropped")
        if self.replicate_rows:
            parts.append(f"{self.replicate_rows:,} replicate rows averaged into {self.merged_strains:,} strains")
        return f"{', '.join(parts)} -> {self.strains:,} strains"


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
    filter: list[ColumnFilter] = attrs.field(factory=list)  # rows must pass every one
    keep: list[str] = attrs.field(factory=list)  # text columns carried per strain (PhenotypeTable.tags)
    conditions: list[str] = attrs.field(factory=list)  # columns that tell replicates apart; carried too
    aggregate: Literal["none", "mean"] = "none"
    aliases: str | None = None  # alias file: name, then the vocabulary's name (case-insensitive)
    # the strain's environment, each with a type ([[phenotypes.environment]]); rows under different
    # environments are different strains, and aggregate = "mean" averages only within one
    environment: list[EnvironmentSpec] = attrs.field(factory=list)
    # labels that belong together ([[phenotypes.groups]], docs/label_groups.md); every other label is its own
    groups: list[GroupSpec] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        if (self.genes is None) == (self.gene_columns is None):
            raise ValueError("give exactly one of genes (one column, genes joined by gene_separator) "
                             "or gene_columns (a list of columns)")
        if self.gene_columns is not None and not self.gene_columns:
            raise ValueError("'gene_columns' must not be empty")
        if self.strip_suffix == "":
            raise ValueError("'strip_suffix' must not be empty (leave it out instead)")
        genes = set(self.gene_column_names) | ({self.kinds} if self.kinds else set())
        for option in ("keep", "conditions"):
            for column in getattr(self, option):
                if column in genes:
                    raise ValueError(f"'{option}': column {column!r} holds genes or kinds")
                if self.labels is not None and column in self.labels:
                    raise ValueError(f"'{option}': column {column!r} is also a label")
        environment_kinds(self.environment)  # no environment column named twice
        for spec in self.environment:
            for column in spec.source_columns:
                if column in genes:
                    raise ValueError(f"'environment': column {column!r} holds genes or kinds")
                if self.labels is not None and column in self.labels:
                    raise ValueError(f"'environment': column {column!r} is also a label")
        for i, spec in enumerate(self.groups):
            outside = [n for n in spec.labels if self.labels is not None and n not in self.labels]
            if outside:
                raise ValueError(f"'groups[{i}]' ({spec.name!r}): {outside[0]!r} is not one of 'labels'")
        if self.conditions and self.aggregate == "none":
            raise ValueError("'conditions' tell replicates apart for aggregate = \"mean\"; with aggregate = "
                             "\"none\" every row is a strain (use keep = [...] to carry a column)")

    @property
    def gene_column_names(self) -> list[str]:
        return [self.genes] if self.genes is not None else list(self.gene_columns)

    @property
    def environment_columns(self) -> list[str]:
        """The table columns the environment is read from."""
        return list(dict.fromkeys(c for spec in self.environment for c in spec.source_columns))

    @property
    def default_code(self) -> int:
        return int(Perturbation.parse(self.default_kind))



def _label_names(path: Path, config: TableConfig, header: list[str]) -> list[str]:
    """The configured labels, or every column not holding genes or kinds, not kept, not filtered on."""
    used = set(config.gene_column_names) | ({config.kinds} if config.kinds is not None else set())
    carried = set(config.keep) | set(config.conditions) | {f.column for f in config.filter} \
        | set(config.environment_columns)
    names = config.labels if config.labels is not None else [h for h in header if h not in used | carried]
    if not names and config.labels is None:
        raise ValueError(f"{path}: no label columns (every column holds genes or kinds); "
                         "set labels = [] for a table without labels")
    for name in names:
        if name in used:
            raise ValueError(f"{path}: column {name!r} is both a label and a gene/kinds column")
    return names


def _header(path: Path, config: TableConfig) -> list[str]:
    with read_table(path, config.delimiter, config.comment) as table:
        if table.first is None:
            raise ValueError(f"{path}: empty file (a header line naming the columns is needed)")
        return [h.strip() for h in table.first[1]]


def table_label_names(path: Path, config: TableConfig) -> list[str]:
    """The labels a table provides, from its header line alone (cheap: for ``cellreg validate``)."""
    if config.labels is not None:
        return list(config.labels)
    return _label_names(path, config, _header(path, config))


def read_strain_table(path: Path, graph: CellGraph, config: TableConfig, engine: str = "auto") -> PhenotypeTable:
    """The table at ``path`` (``config.path`` is ignored: the caller resolved it) against ``graph``.
    ``engine = "lines"`` forces the line reader (the reference the columnar engine is tested against)."""
    return load_strain_table(path, graph, config, engine)[0]


def load_strain_table(path: Path, graph: CellGraph, config: TableConfig,
                      engine: str = "auto") -> tuple[PhenotypeTable, TableStats]:
    """:func:`read_strain_table` plus what the load did (:class:`TableStats`)."""
    return _Reader(config, Path(path), engine=engine).load(graph)


def read_new_strains(path: Path, graph: CellGraph, config: TableConfig) -> NewStrains:
    """Strains to score: the table, and the file's other columns (an id, notes) to carry into the
    output. ``config.labels`` must be ``[]``."""
    reader = _Reader(config, Path(path), keep_other=True)
    table, _ = reader.load(graph)
    return NewStrains(table, {name: [row[j] for row in reader.other_values] for j, name in enumerate(reader.other)})


def _files(path: Path, config: TableConfig) -> list[Path]:
    """The files a table's cache entry is keyed by: the table, and its alias file."""
    return [Path(path)] + ([Path(config.aliases)] if config.aliases is not None else [])


class _ReadAhead:
    """A table's rows read on a thread (:func:`start_reading`), taken once: the taker then holds the
    only reference. Reading rows needs no graph and warns of nothing. The files' states are noted
    first, so that a load finding them changed reads them again rather than cache old rows under
    the new bytes' key."""

    def __init__(self, path: Path, config: TableConfig):
        self.state = _states(path, config)
        # the load hashes the file for its cache key meanwhile
        self._rows = beside(lambda: _Reader(config, path)._read(_label_names(path, config, _header(path, config)),
                                                                hashed_meanwhile=True), "cellreg-read-ahead")

    def take(self):
        """The rows (or the read's error); the future that held them goes with this call."""
        rows, self._rows = self._rows, None
        return rows.result()


def _states(path: Path, config: TableConfig) -> list:
    from cellreg.toolkit.mapped_file import file_state

    return [file_state(f) for f in _files(path, config)]


_AHEAD: dict[tuple[str, str], _ReadAhead] = {}
_AHEAD_LOCK = threading.Lock()


def _ahead_key(path: Path, config: TableConfig) -> tuple[str, str]:
    return str(Path(path).resolve()), repr(attrs.asdict(config))


def start_reading(path: Path, config: TableConfig) -> bool:
    """Start reading the rows of the table at ``path`` on a thread where the table cache would hash the
    file (it has no entry then, almost always), for the next :func:`load_strain_table` of the same
    file and options to take; whether it started. A cold ``cellreg inspect`` of the 20 M-row table
    parses it while torch is imported and the graph built (docs/benchmarks.md)."""
    from cellreg.toolkit import table_cache

    key = _ahead_key(path, config)
    with _AHEAD_LOCK:
        if key in _AHEAD or not table_cache.will_hash(_files(path, config)):
            return False
        _AHEAD[key] = _ReadAhead(Path(path), config)
    return True


def _taken_ahead(path: Path, config: TableConfig) -> _ReadAhead | None:
    with _AHEAD_LOCK:
        return _AHEAD.pop(_ahead_key(path, config), None)


class _Reader:
    def __init__(self, config: TableConfig, path: Path, keep_other: bool = False, engine: str = "auto"):
        self.config, self.path, self.keep_other = config, path, keep_other
        self.engine = "lines" if keep_other else engine
        self.aliases = Path(config.aliases) if config.aliases is not None else None
        self.other: list[str] = []  # new strains: the file's other columns, and per row their values
        self.other_values: list[list[str]] = []

    def load(self, graph: CellGraph) -> tuple[PhenotypeTable, TableStats]:
        from cellreg.toolkit import table_cache
        from cellreg.toolkit.table_cache import strings

        entry, ahead = None, None
        if not self.keep_other:
            ahead = _taken_ahead(self.path, self.config)
            options = {"config": attrs.asdict(self.config), "path": str(self.path), "genes": _digest(graph.genes)}
            entry = table_cache.Entry("strains", _files(self.path, self.config), options, code=READING_CODE)
            if ahead is not None and (self.engine != "auto" or _states(self.path, self.config) != ahead.state):
                ahead = None  # another engine asked for, or the files changed since it began: read again
            cached = entry.load()
            if cached is not None:
                return _from_cache(cached)  # (a read-ahead, the same bytes written again, ends on its own)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            table, stats = self._load(graph, ahead)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=3)
        if stats.replicate_rows or stats.filtered_out:
            log.info("%s: %s", self.path, stats.describe())
        if entry is not None:
            table.hash_in_background()  # the entry stores it; a split is made meanwhile
            entry.save(_to_cache(table, stats, [str(w.message) for w in caught]),
                       lambda: {"fingerprint": strings([table.fingerprint()])})
        return table, stats

    def _load(self, graph: CellGraph, ahead: _ReadAhead | None = None) -> tuple[PhenotypeTable, TableStats]:
        label_names = _label_names(self.path, self.config, _header(self.path, self.config))
        return self._build(graph, label_names, ahead.take if ahead is not None else lambda: self._read(label_names))

    def _read(self, label_names: list[str], hashed_meanwhile: bool = False):
        """The file's rows (and, for new strains, their other columns, kept on the reader)."""
        from cellreg.data.strain_rows import LabelError, read_lines, read_rows

        config = self.config
        hint = "" if config.labels is not None else \
            " (labels default to every column not holding genes or kinds; list them with labels = [...])"
        try:
            if self.keep_other:
                rows, lay = read_lines(self.path, config, label_names, keep_other=True)
                self.other, self.other_values = [lay.header[j] for j in lay.other], rows.other
                return rows
            # replicates are averaged from the numbers as written; labels kept as read are parsed
            # straight into the table's float32
            return read_rows(self.path, config, label_names, self.engine,
                             np.float64 if config.aggregate == "mean" else np.float32, hashed_meanwhile)[0]
        except LabelError as exc:
            raise ValueError(f"{exc}{hint}") from None

    def _build(self, graph: CellGraph, label_names: list[str], read: Callable) -> tuple[PhenotypeTable, TableStats]:
        """The table from the file's rows (``read()``), which only this frame holds: their arrays are
        changed in place, and each goes once it is used (the float64 labels once they are averaged)."""
        from cellreg.toolkit.gene_names import GeneNames

        rows = read()
        resolver = GeneNames.from_file(graph.genes, self.aliases)
        sizes, kinds = rows.sizes, rows.kinds
        per_name = resolver.lookup(rows.names).astype(np.int32)  # a vocabulary is far below 2**31 genes
        known = bool((per_name >= 0).all())
        # every name known: the rows' codes become the genes in place (a name is only ever asked for to
        # name an unknown gene), no second 160 MB array at 20 M pairs
        genes = take(per_name, rows.codes, out=rows.codes if known and rows.codes.dtype == np.int32 else None)
        index = rows.rows  # per strain, its data row (for line numbers); None: strain i is data row i
        labels = rows.labels
        text = dict(rows.text)
        vocabulary = graph.genes
        unknown = None if known else genes < 0  # a name no entry keeps (drop_genes) is no unknown gene
        if unknown is not None and unknown.any() and self.config.unknown_genes == "add":
            genes, vocabulary = self._add(graph, rows, index, genes, kinds, sizes)
            unknown = genes < 0
        n_read, n_unknown = len(sizes), 0
        if unknown is not None and unknown.any():
            strain = np.repeat(np.arange(len(sizes)), sizes)
            bad_entries = np.flatnonzero(unknown)
            cols = self.config.gene_column_names
            lines = rows.line_of(_data_rows(index, strain[bad_entries]))
            msg = unknown_genes_message(
                self.path, [rows.names[rows.codes[i]] for i in bad_entries], [int(n) for n in lines],
                [f", column {cols[rows.where[i]]!r}" for i in bad_entries],
                f"the graph's {graph.num_genes:,}-gene vocabulary", resolver.known)
            if self.config.unknown_genes == "error":
                raise ValueError(msg + "; if they are genes of the organism, give the graph source a gene vocabulary "
                                 "that lists them (genes without edges stay in the graph); else set "
                                 'unknown_genes = "drop" to skip those strains')
            bad = np.zeros(len(sizes), dtype=bool)
            bad[strain[bad_entries]] = True
            n_unknown = int(bad.sum())
            warnings.warn(f"{msg}; dropped {n_unknown:,} of {len(sizes):,} strains", stacklevel=3)
            keep_entry = ~bad[strain]
            genes, kinds, sizes, labels, index = genes[keep_entry], kinds[keep_entry], sizes[~bad], labels[~bad], \
                _data_rows(index, np.flatnonzero(~bad))
            text = {k: v.take(~bad) for k, v in text.items()}
        line_of, read = rows.line_of, rows.read
        del rows
        genes, kinds, sizes, repeated = self._collapse_repeats(line_of, index, genes, kinds, sizes, vocabulary)
        merged = merged_strains = 0
        set_keys = None
        if self.config.aggregate == "mean" and len(sizes):
            genes, kinds, sizes, labels, text, merged, merged_strains, set_keys = self._aggregate(
                line_of, index, genes, kinds, sizes, labels, text, len(vocabulary))
        offsets = np.zeros(len(sizes) + 1, np.int64)
        np.cumsum(sizes, out=offsets[1:])  # in place: no 160 MB temporary at 20 M strains
        carried = set(self.config.keep) | set(self.config.conditions)
        # this reader's own arrays: the table takes them as they are
        hand_over(offsets, genes, kinds, labels, *(text[c].codes for c in carried if c in text))
        table = PhenotypeTable(offsets, genes, kinds, labels.reshape(len(sizes), len(label_names)), label_names,
                               vocabulary, {k: v for k, v in text.items() if k in carried},
                               read_environment(self.config.environment, text, self.path))
        if set_keys is not None:
            table.known_set_keys(set_keys)
        stats = TableStats(read, read - n_read, n_unknown, repeated, merged, merged_strains, len(sizes))
        return table, stats

    def _aggregate(self, line_of, index, genes, kinds, sizes, labels, text, num_genes: int):
        from cellreg.data.replicates import check_agree, replicates

        config = self.config
        groups, set_keys = replicates(genes, kinds, sizes,
                                      [text[c].codes for c in config.conditions + config.environment_columns], num_genes)
        check_agree(groups, {c: text[c].codes for c in config.keep if c not in config.conditions},
                    lambda r: line_of(_data_rows(index, r)), {c: text[c].values for c in config.keep}, self.path)
        first = groups.keep  # each group's first row, in group order
        means = beside(lambda: groups.means(labels))  # on the pool's cores, while this thread gathers the rest
        entries = np.repeat(first, sizes)
        genes, kinds, text = genes[entries], kinds[entries], {k: v.take(first) for k, v in text.items()}
        return (genes, kinds, sizes[first], means.result(), text, len(sizes) - groups.count, groups.merged_groups,
                set_keys)

    def _collapse_repeats(self, line_of, index: np.ndarray | None, genes: np.ndarray, kinds: np.ndarray, sizes: np.ndarray,
                          vocabulary: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """A gene named twice in one strain (a query and an array allele of one gene, or a name left after
        ``strip_suffix``) is one perturbation: kept once, with a warning; with two different kinds it
        is an error. ``genes``, ``kinds`` and ``sizes`` are the reader's own: changed in place."""
        suspects = np.flatnonzero(_maybe_repeated(genes, sizes))
        if not len(suspects):
            return genes, kinds, sizes, 0
        counts = sizes[suspects]  # only the entries of strains that may hold a repeat are looked at
        owner = np.repeat(suspects, counts)
        first_entry = suspects * int(sizes[0]) if sizes.min() == sizes.max() else (np.cumsum(sizes) - sizes)[suspects]
        where = np.repeat(first_entry - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        _, first, inverse = np.unique(owner * max(len(vocabulary), 1) + genes[where], return_index=True,
                                      return_inverse=True)
        if len(first) == len(where):
            return genes, kinds, sizes, 0
        first, inverse = where[first], inverse.reshape(-1)
        clash = np.flatnonzero(kinds[where] != kinds[first[inverse]])
        if len(clash):
            i, twin = where[clash[0]], first[inverse[clash[0]]]
            line = int(line_of(_data_rows(index, owner[clash[:1]]))[0])
            raise ValueError(f"{self.path}: line {line}: gene {vocabulary[genes[i]]!r} appears twice in "
                             f"one strain with different kinds ({Perturbation(kinds[twin]).name.lower()} "
                             f"and {Perturbation(kinds[i]).name.lower()})")
        keep = np.ones(len(genes), bool)
        keep[where] = False
        keep[first] = True
        repeated = np.flatnonzero(~keep[where])  # positions in ``where``
        strains = owner[repeated]
        n = len(np.unique(strains))
        line = int(line_of(_data_rows(index, strains[:1]))[0])
        warnings.warn(f"{self.path}: a gene named twice in one strain, in {n:,} "
                      f"strain(s) (first: line {line}, {vocabulary[genes[where[repeated[0]]]]!r}); "
                      "each gene is kept once per strain", stacklevel=4)
        np.subtract.at(sizes, strains, 1)  # a few strains: no count over all of them
        return _compact(keep, genes), _compact(keep, kinds), sizes, n

    def _add(self, graph: CellGraph, rows, index: np.ndarray | None, genes: np.ndarray, kinds: np.ndarray,
             sizes: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
        """Unknown genes marked ``addition`` become new vocabulary entries after the graph's genes,
        in order of first appearance; any other unknown gene is an error."""
        unknown = np.flatnonzero(genes < 0)
        wrong = unknown[kinds[unknown] != Perturbation.ADDITION]
        name = [rows.names[c] for c in rows.codes]
        if len(wrong):
            strain = np.repeat(np.arange(len(sizes)), sizes)
            i = wrong[0]
            hint = "" if self.config.kinds is not None else \
                "; kinds are read from the column named by `kinds` (`cellreg predict --kinds-column`)"
            line = int(rows.line_of(_data_rows(index, strain[[i]]))[0])
            raise ValueError(f"{self.path}: line {line}: gene {name[i]!r} is not in the graph's "
                             f"vocabulary{suggest(name[i], graph.genes)}; only genes marked 'addition' may be "
                             f"new ({len(wrong):,} such entries){hint}")
        new = list(dict.fromkeys(name[i] for i in unknown))
        where = {g: graph.num_genes + j for j, g in enumerate(new)}
        genes = genes.copy()
        genes[unknown] = [where[name[i]] for i in unknown]
        return genes, graph.genes + tuple(new)


def _compact(keep: np.ndarray, a: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """``a[keep]``, written over the front of ``a`` a block at a time in order (a block is copied out
    before it is written back, and never lands beyond its own start): no second 160 MB array for the
    few entries a collapse drops. From the first dropped entry on; before it nothing moves."""
    at = start = int(np.argmin(keep)) // block * block if len(keep) else 0
    for start in range(start, len(a), block):
        part = a[start:start + block][keep[start:start + block]]
        a[at:at + len(part)] = part
        at += len(part)
    return a[:at]


def _data_rows(index: np.ndarray | None, strains: np.ndarray) -> np.ndarray:
    """The data rows of ``strains`` (``index``: each strain's data row, None where strain i is row i)."""
    return strains if index is None else index[strains]


def _maybe_repeated(genes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per strain, whether two of its entries could be one gene: exact for sets of up to 4 genes
    (their columns compared pairwise, one size at a time: a loop over sizes, not strains), True for
    larger sets (checked by sort)."""
    suspects = sizes > 4
    uniform = len(sizes) > 0 and sizes.min() == sizes.max()
    start = None if uniform else np.cumsum(sizes) - sizes
    for k in range(2, min(int(sizes.max()), 4) + 1 if len(sizes) else 0):
        if uniform:  # every strain has k entries (a pair screen): columns are views
            rows_k, columns = slice(None), list(genes.reshape(-1, k).T)
        else:
            rows_k = np.flatnonzero(sizes == k)
            at = start[rows_k]
            columns = [genes[at + i] for i in range(k)]
        hit = np.zeros(len(columns[0]), bool)
        for i in range(k):
            for j in range(i + 1, k):
                hit |= columns[i] == columns[j]
        suspects[rows_k] = hit
    return suspects


def _digest(genes) -> str:
    from cellreg.toolkit.hashing import Hasher

    h = Hasher()
    h.update_strings(genes)
    return h.hexdigest()


def _to_cache(table: PhenotypeTable, stats: TableStats, messages: list[str]) -> dict[str, np.ndarray]:
    """The entry's arrays, all but the table's fingerprint (:meth:`_Reader.load` adds it)."""
    from cellreg.toolkit.table_cache import narrow, strings

    # sizes, gene numbers and codes in the narrowest unsigned type that holds them: a 20 M-row entry
    # is 380 MB, not 600, and the cold command that writes it waits for the write at exit
    out = {"sizes": narrow(table.set_sizes), "genes": narrow(table.genes, len(table.gene_names)), "kinds": table.kinds,
           "labels": table.labels, "label_names": strings(table.label_names), "gene_names": strings(table.gene_names),
           "stats": np.asarray(attrs.astuple(stats), np.int64), "warnings": strings(messages),
           "tag_names": strings(table.tags), **table.environment.to_arrays()}
    for i, name in enumerate(table.tags):
        column = table.tags.category(name)  # the carried column's codes as read: no second encoding
        out[f"tag{i}_values"], out[f"tag{i}_codes"] = strings(column.values), narrow(column.codes, len(column.values))
    return out


def _from_cache(z: dict[str, np.ndarray]) -> tuple[PhenotypeTable, TableStats]:
    for message in z["warnings"].tolist():
        warnings.warn(message, stacklevel=4)
    tags = {name: Category(z[f"tag{i}_values"].tolist(), z[f"tag{i}_codes"].astype(np.int32))
            for i, name in enumerate(z["tag_names"].tolist())}
    offsets = np.zeros(len(z["sizes"]) + 1, np.int64)
    np.cumsum(z["sizes"], out=offsets[1:])
    genes = z["genes"].astype(np.int32)
    hand_over(offsets, genes, z["kinds"], z["labels"])  # read for this table alone
    table = PhenotypeTable(offsets, genes, z["kinds"], z["labels"], z["label_names"].tolist(),
                           z["gene_names"].tolist(), tags, Environment.from_arrays(z, list(z)))
    return table.known_fingerprint(str(z["fingerprint"][0])), TableStats(*map(int, z["stats"]))
