"""Small gene-name files: a vocabulary (one name per line) and an alias table (name, then the
vocabulary's name for it), read with the same line-numbered errors as the big tables."""

from __future__ import annotations

import itertools
from pathlib import Path

from cellreg.toolkit.text_tables import read_table


def _rows(path: Path):
    with read_table(path, "auto", "#") as table:
        yield from itertools.chain([table.first] if table.first else [], table.rows)


def read_gene_list(path: Path) -> list[str]:
    """One gene name per line; blank lines and ``#`` comments skipped; repeats are an error."""
    genes: list[str] = []
    seen: dict[str, int] = {}
    for n, cells in _rows(Path(path)):
        if len(cells) != 1:
            raise ValueError(f"{path}: line {n}: expected one gene name per line, got {' '.join(cells)!r}")
        gene = cells[0].strip()
        if gene in seen:
            raise ValueError(f"{path}: line {n}: gene {gene!r} already listed on line {seen[gene]}")
        seen[gene] = n
        genes.append(gene)
    if not genes:
        raise ValueError(f"{path}: no gene names in the vocabulary file")
    return genes


def read_aliases(path: Path) -> dict[str, str]:
    """Two columns: a name as a source spells it, and the vocabulary's name (e.g. ``ADH1  YOL086C``).
    A name mapped to two different genes is an error."""
    out: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for n, cells in _rows(Path(path)):
        if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
            raise ValueError(f"{path}: line {n}: expected two columns, a name and the vocabulary's name for it")
        alias, gene = cells[0].strip(), cells[1].strip()
        if out.get(alias, gene) != gene:
            raise ValueError(f"{path}: line {n}: {alias!r} maps to {gene!r} here and to {out[alias]!r} on line "
                             f"{line_of[alias]}")
        out[alias], line_of[alias] = gene, n
    return out
