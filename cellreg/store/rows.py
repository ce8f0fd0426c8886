"""What a store row is, and how formats build one: the strain (genes, their kinds and the alleles as
the file names them), the environment (``env.<name>`` columns), the value, its unit and any
statistics of the phenotype group (a p-value, a standard deviation).

Strain ids are parsed once per *distinct* id (a Costanzo table names ~12,000 strains in 20 M rows):
the id column is dictionary-encoded in Arrow, its dictionary split in Python, and the results taken
back through the codes, so nothing loops over rows.
"""

from __future__ import annotations

import re
import warnings
from typing import Sequence

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cellreg.data.phenotypes import Perturbation

KIND_NAMES = tuple(k.name.lower() for k in Perturbation)
KIND_TYPE = pa.dictionary(pa.int8(), pa.string())
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# allele suffixes of the Boone lab's strain ids (YAL001C_dma1): what was done to the gene
ALLELE_KINDS = {"dma": "deletion", "sn": "deletion", "tm": "deletion", "y": "deletion", "damp": "knockdown",
                "tsa": "knockdown", "tsq": "knockdown"}


def check_name(what: str, name: str) -> str:
    """Study and phenotype names become folder names (``study=<name>``): letters, digits, ``_.-``."""
    if not NAME.match(name):
        raise ValueError(f"{what} {name!r}: use letters, digits, '_', '.' and '-' (starting with a letter or digit); "
                         "it names a folder of the store")
    return name


def slug(text: str) -> str:
    """A column title as a phenotype name: ``Double mutant fitness`` -> ``double_mutant_fitness``."""
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


@attrs.frozen
class Phenotype:
    """A phenotype group of a study: its rows share a unit and statistics columns; a profile's rows
    also name their ``feature`` (the measured gene of an expression profile)."""

    name: str
    unit: str = ""
    shape: str = "scalar"  # or a profile (GroupKind.PROFILE)
    statistics: tuple[str, ...] = ()
    description: str = ""


@attrs.frozen(eq=False)
class Part:
    """Rows of one phenotype: ``genes``, ``kinds``, ``alleles`` (lists), ``env.*``, [``feature``],
    ``value`` and the phenotype's statistics; the importer adds ``unit``."""

    phenotype: Phenotype
    table: pa.Table
    env: dict[str, tuple[str, str]] = attrs.field(factory=dict)  # env column name -> (kind, unit)


@attrs.frozen(eq=False)
class Strains:
    """Per row, a strain as three list arrays of equal shape."""

    genes: pa.ListArray
    kinds: pa.ListArray
    alleles: pa.ListArray

    def take(self, rows: np.ndarray) -> "Strains":
        idx = pa.array(rows)
        return Strains(self.genes.take(idx), self.kinds.take(idx), self.alleles.take(idx))

    def columns(self) -> dict[str, pa.Array]:
        return {"genes": self.genes, "kinds": self.kinds, "alleles": self.alleles}


def _list(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


class IdParser:
    """Splits strain ids (``YAL001C_tsq2``, or several joined by ``+``) into genes and kinds, once per
    distinct cell text over every batch of a file: genes are the text before the first ``_``, the kind
    comes from the allele suffix (:data:`ALLELE_KINDS`; an unknown suffix is a deletion, with one
    warning), and genes in ``drop`` (a marker meaning "no gene") are left out."""

    def __init__(self, drop: Sequence[str] = (), where: str = "") -> None:
        self.drop, self.where = frozenset(drop), where
        self.pieces: dict[str, int] = {}  # id -> piece number
        self.gene: list[int] = []  # per piece, its gene's number
        self.genes: dict[str, int] = {}
        self.kind: list[int] = []
        self.cells: dict[str, tuple[int, ...]] = {}  # cell text -> kept pieces
        self.known = pa.array([], pa.string())  # the cells' texts, in the dict's order (for pc.index_in)
        self.single = np.zeros(0, np.int64)  # per known cell, its one piece (-1: none or several)
        self.unknown: set[str] = set()

    def _piece(self, text: str) -> int:
        i = self.pieces.get(text)
        if i is None:
            i = self.pieces[text] = len(self.pieces)
            gene, _, suffix = text.partition("_")
            self.gene.append(self.genes.setdefault(gene, len(self.genes)))
            kind = ALLELE_KINDS.get(re.match(r"[A-Za-z]*", suffix).group(0).lower())
            if kind is None and suffix:
                self.unknown.add(suffix)
            self.kind.append(KIND_NAMES.index(kind or "deletion"))
        return i

    def _cell(self, text: str | None) -> tuple[int, ...]:
        out = self.cells.get(text)
        if out is None:
            parts = [p.strip() for p in (text or "").split("+")]
            out = self.cells[text] = tuple(self._piece(p) for p in parts if p and p.partition("_")[0] not in self.drop)
        return out

    def _positions(self, dictionary: pa.Array) -> np.ndarray:
        """Each dictionary entry's place among the known cells; new texts are parsed (once per file)."""
        pos = np.asarray(pc.index_in(dictionary, value_set=self.known).fill_null(-1), np.int64)
        new = np.flatnonzero(pos < 0)
        if len(new):
            for text in dictionary.take(pa.array(new)).to_pylist():
                self._cell(text)
            self.known = pa.array(list(self.cells), pa.string())
            self.single = np.array([c[0] if len(c) == 1 else -1 for c in self.cells.values()], np.int64)
            pos = np.asarray(pc.index_in(dictionary, value_set=self.known), np.int64)
        return pos

    def __call__(self, ids: Sequence[pa.ChunkedArray | pa.Array]) -> Strains:
        """``ids``: columns of text, or of dictionaries over text (encode once, share with other steps)."""
        n = len(ids[0])
        columns = []
        for col in ids:
            col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
            enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
            codes = np.asarray(enc.indices.fill_null(len(enc.dictionary)) if enc.indices.null_count else enc.indices,
                               np.int64)
            pos = self._positions(enc.dictionary.fill_null(""))
            columns.append((codes, pos))
        if all(len(pos) and (self.single[pos] >= 0).all() and codes.max(initial=-1) < len(pos)
               for codes, pos in columns):
            # one id per cell (Costanzo): rows are [column 0, column 1, ...], no CSR needed
            flat = np.stack([self.single[pos][codes] for codes, pos in columns], axis=1).reshape(-1)
            offsets = np.arange(n + 1, dtype=np.int64) * len(columns)
        else:
            sizes = np.zeros(n, np.int64)
            parts = []
            every = list(self.cells.values())
            for codes, pos in columns:
                cells = [every[p] for p in pos] + [()]  # distinct cells of this batch, not rows
                csize = np.array([len(c) for c in cells], np.int64)
                cflat = np.array([p for c in cells for p in c], np.int64)
                cstart = np.concatenate([[0], np.cumsum(csize[:-1])])
                parts.append((codes, csize[codes], cflat, cstart))
                sizes += csize[codes]
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            flat = np.empty(int(offsets[-1]), np.int64)
            filled = offsets[:-1].copy()
            for codes, rs, cflat, cstart in parts:  # a loop over columns (two or three), not rows
                rows = np.repeat(np.arange(n), rs)
                within = np.arange(len(rows)) - np.repeat(np.cumsum(rs) - rs, rs)
                flat[filled[rows] + within] = cflat[cstart[codes[rows]] + within]
                filled += rs
        idx = pa.array(flat.astype(np.int32))
        genes = pa.array(list(self.genes), pa.string()).take(pa.array(np.asarray(self.gene, np.int32)).take(idx))
        kinds = pa.DictionaryArray.from_arrays(pa.array(np.asarray(self.kind, np.int8)).take(idx),
                                               pa.array(KIND_NAMES, pa.string()))
        alleles = pa.array(list(self.pieces), pa.string()).take(idx)
        return Strains(_list(offsets, genes), _list(offsets, kinds), _list(offsets, alleles))

    def warn(self) -> None:
        if self.unknown:
            shown = ", ".join(sorted(self.unknown)[:5])
            warnings.warn(f"{self.where}: {len(self.unknown)} allele suffixes not recognised ({shown}"
                          f"{', ...' if len(self.unknown) > 5 else ''}); read as deletions (known: "
                          f"{', '.join(ALLELE_KINDS)})", stacklevel=3)


def strains_from_sets(offsets: np.ndarray, gene_codes: np.ndarray, gene_names: Sequence[str],
                      kind_codes: np.ndarray | None = None) -> Strains:
    """Strains from a CSR of gene codes into ``gene_names`` (the alleles are the genes' names)."""
    idx = pa.array(np.asarray(gene_codes, np.int32))
    names = pa.array(list(gene_names), pa.string())
    kinds = np.zeros(len(gene_codes), np.int8) if kind_codes is None else np.asarray(kind_codes, np.int8)
    genes = pa.DictionaryArray.from_arrays(idx, names)
    return Strains(_list(offsets, genes),
                   _list(offsets, pa.DictionaryArray.from_arrays(pa.array(kinds), pa.array(KIND_NAMES, pa.string()))),
                   _list(offsets, genes))


def digits(columns: Sequence[pa.Array]) -> tuple[np.ndarray, list[pa.Array], list[int]]:
    """One integer key per row naming its combination of values in ``columns`` (text, dictionaries or
    numbers; null is a value too), and the dictionaries and sizes of its digits for :func:`undigit`."""
    dictionaries, dims, key = [], [], None
    for v in columns:
        v = v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v
        e = v if pa.types.is_dictionary(v.type) else pc.dictionary_encode(v)
        dictionaries.append(pa.concat_arrays([e.dictionary, pa.nulls(1, e.dictionary.type)]))
        dims.append(len(e.dictionary) + 1)
        c = np.asarray(e.indices.fill_null(len(e.dictionary)) if e.indices.null_count else e.indices, np.int64)
        key = c if key is None else key * dims[-1] + c
    return key, dictionaries, dims


def count_keys(key: np.ndarray, dims: Sequence[int], weights: Sequence[np.ndarray] = ()) -> tuple[np.ndarray, ...]:
    """(present keys, rows per key, then each weight summed per key): bincount over dense keys, a sort
    only when the combinations far outnumber the rows."""
    n_keys = float(np.prod(dims, dtype=np.float64))
    if n_keys <= 4 * len(key) + 1024:
        count = np.bincount(key, minlength=int(n_keys))
        present = np.flatnonzero(count)
        return (present, count[present], *(np.bincount(key, weights=w, minlength=int(n_keys))[present] for w in weights))
    present, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
    return (present, count, *(np.bincount(inverse.reshape(-1), weights=w) for w in weights))


def undigit(keys: np.ndarray, dictionaries: Sequence[pa.Array], dims: Sequence[int]) -> list[pa.Array]:
    """Per column, the value each key stands for."""
    out, rest = [], keys
    for d, dim in zip(reversed(dictionaries), reversed(dims)):
        out.append(d.take(pa.array(rest % dim)))
        rest = rest // dim
    return out[::-1]


def numbers(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A numeric column as float64 (nulls stay null)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.float64())
