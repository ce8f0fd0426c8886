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
    shape: str = "scalar"  # or "profile"
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


def strains_from_ids(ids: Sequence[pa.ChunkedArray | pa.Array], drop: Sequence[str] = (), where: str = "") -> Strains:
    """Strains from columns of strain ids, each cell one id or several joined by ``+``
    (``YAL001C_tm1+YDL227C_y1``): genes are the ids' text before the first ``_``, kinds come from the
    allele suffix (:data:`ALLELE_KINDS`; unknown suffixes are deletions, with a warning); genes in
    ``drop`` (a marker meaning "no gene") are left out."""
    n = len(ids[0])
    per_col = []
    for col in ids:
        enc = pc.dictionary_encode(col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col)
        cells = enc.dictionary.to_pylist()
        per_col.append((np.asarray(enc.indices.fill_null(-1)), [("" if c is None else c) for c in cells]))
    # distinct ids over all columns, split once each
    pieces: dict[str, int] = {}
    cell_ids: list[list[list[int]]] = []
    for _, cells in per_col:
        cell_ids.append([[pieces.setdefault(p.strip(), len(pieces)) for p in c.split("+") if p.strip()] for c in cells])
    names = list(pieces)
    gene = [p.split("_", 1)[0] for p in names]
    suffix = [p.split("_", 1)[1] if "_" in p else "" for p in names]
    kind = []
    unknown = set()
    for s in suffix:
        prefix = re.match(r"[A-Za-z]*", s).group(0).lower()
        k = ALLELE_KINDS.get(prefix)
        if k is None:
            if s:
                unknown.add(s)
            k = "deletion"
        kind.append(KIND_NAMES.index(k))
    if unknown:
        shown = ", ".join(sorted(unknown)[:5])
        warnings.warn(f"{where}: {len(unknown)} allele suffixes not recognised ({shown}{', ...' if len(unknown) > 5 else ''}); "
                      f"read as deletions (known: {', '.join(ALLELE_KINDS)})", stacklevel=3)
    keep_piece = np.array([g not in set(drop) and g != "" for g in gene], bool)
    # per column: a CSR of piece ids per distinct cell, then per row through the codes
    sizes = np.zeros(n, np.int64)
    row_parts = []
    for (codes, _), cells in zip(per_col, cell_ids):
        kept = [[p for p in c if keep_piece[p]] for c in cells]
        csize = np.array([len(c) for c in kept] + [0], np.int64)  # the last entry: a missing cell
        cflat = np.array([p for c in kept for p in c], np.int64)
        cstart = np.concatenate([[0], np.cumsum(csize[:-1])])
        rs = csize[codes]
        sizes += rs
        row_parts.append((codes, rs, cflat, cstart))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    flat = np.empty(int(offsets[-1]), np.int64)
    filled = offsets[:-1].copy()
    for codes, rs, cflat, cstart in row_parts:  # a loop over columns (two or three), not rows
        rows = np.repeat(np.arange(n), rs)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(rs) - rs, rs)
        flat[filled[rows] + within] = cflat[cstart[codes[rows]] + within]
        filled += rs
    gene_dict, piece_to_gene = np.unique(np.asarray(gene, dtype=object), return_inverse=True) if names \
        else (np.zeros(0, object), np.zeros(0, np.int64))
    idx = pa.array(flat.astype(np.int32))
    genes = pa.DictionaryArray.from_arrays(pa.array(piece_to_gene.astype(np.int32)).take(idx),
                                           pa.array(gene_dict.tolist(), pa.string()))
    kinds = pa.DictionaryArray.from_arrays(pa.array(np.asarray(kind, np.int8)).take(idx),
                                           pa.array(KIND_NAMES, pa.string()))
    alleles = pa.DictionaryArray.from_arrays(idx, pa.array(names, pa.string()))
    return Strains(_list(offsets, genes), _list(offsets, kinds), _list(offsets, alleles))


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


def numbers(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A numeric column as float64 (nulls stay null)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return column.cast(pa.float64())
