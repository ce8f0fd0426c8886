"""Readers of the Gene Ontology's public formats and of DCell's own topology files.

Each returns plain names (terms, edges, annotations), not indices: :mod:`cellreg_dcell.ontology`
turns them into a hierarchy over a gene vocabulary. Every error names the file and the 1-based
line. OBO goes through obonet (a small, pure-Python parser into a networkx graph); its errors carry
no line, so the line is found again here.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import attrs

from cellreg.config import DataError

GAF_COLUMNS = 17  # GAF 2.x
TAG_LINE = re.compile(r"^(?P<tag>[^:\s]+):\s*(?P<value>.*?)\s*$")  # OBO tags have no spaces


@attrs.frozen
class Ontology:
    """Terms (id → name), ``(child, parent)`` edges of the chosen relations, and the annotations
    ``(gene, term, evidence)``; ``total_genes`` where a file states a term's gene count (topology)."""

    terms: dict[str, str]
    edges: list[tuple[str, str]]
    annotations: list[tuple[str, str, str]] = attrs.field(factory=list)
    total_genes: dict[str, tuple[int, int]] = attrs.field(factory=dict)  # term -> (count, line)


def open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def read_lines(path: Path) -> list[str]:
    try:
        with open_text(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        raise DataError(str(path), ["no such file"]) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise DataError(str(path), [f"cannot be read as text: {exc}"]) from None


# -- OBO ---------------------------------------------------------------------------------------------

def _obo_problem(lines: list[str]) -> str:
    """The first line obonet cannot take, found again (it names none)."""
    stanza, has_id, start = None, False, 0
    for n, line in enumerate(lines + [""], 1):
        text = line.strip()
        if not text:
            if stanza == "[Term]" and not has_id:
                return f"line {start}: [Term] stanza without an 'id:' tag"
            stanza = None
            continue
        if text.startswith("!"):
            continue
        if text.startswith("["):
            stanza, has_id, start = text, False, n
            continue
        match = TAG_LINE.match(text)
        if match is None:
            return f"line {n}: expected 'tag: value', got {text!r}"
        tag, value = match["tag"], match["value"].split(" !")[0].strip()
        has_id = has_id or tag == "id"
        if stanza == "[Term]" and tag == "relationship" and len(value.split()) < 2:
            return f"line {n}: expected 'relationship: <type> <term>', got {text!r}"
        if stanza == "[Term]" and tag in ("id", "is_a") and not value:
            return f"line {n}: '{tag}:' without a term id"
    return ""


def _line_of(lines: list[str], term: str, target: str) -> int:
    """The line of the stanza of ``term`` that names ``target``."""
    inside = False
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("id:"):
            inside = text[3:].strip() == term
        elif inside and target in text.split("!")[0].split():
            return n
    return 0


def read_obo(path: Path, relations: list[str]) -> Ontology:
    """Terms and their ``(child, parent)`` edges of the given relations (``is_a``, ``part_of``, ...);
    obsolete terms are left out. A relation to a term the file does not define is an error."""
    try:
        import obonet
    except ImportError:  # a dependency of cellreg; reinstall if missing
        raise DataError(str(path), ["reading OBO needs obonet: pip install 'obonet>=1.0,<2'"]) from None
    lines = read_lines(path)
    problem = _obo_problem(lines)
    if problem:
        raise DataError(str(path), [problem])
    try:
        graph = obonet.read_obo(path)
    except Exception as exc:  # noqa: BLE001 - obonet raises bare ValueError/KeyError
        raise DataError(str(path), [f"not OBO: {exc}"]) from None
    terms = {t: data.get("name", "") for t, data in graph.nodes(data=True) if data}
    if not terms:
        raise DataError(str(path), ["no [Term] stanzas"])
    edges = []
    for child, parent, kind in graph.edges(keys=True):
        if kind not in relations:
            continue
        if parent not in terms or child not in terms:
            missing = parent if parent not in terms else child
            raise DataError(str(path), [f"line {_line_of(lines, child, parent)}: {kind} {missing} names a term "
                                        "the file does not define (or an obsolete one)"])
        edges.append((child, parent))
    return Ontology(terms, sorted(set(edges)))


# -- GAF 2.x -----------------------------------------------------------------------------------------

def read_gaf(path: Path, gene_column: int, known: set[str] | None = None) -> list[tuple[str, str, str, int]]:
    """``(gene, term, evidence, line)`` per annotation, ``NOT`` annotations left out.

    The gene is column ``gene_column`` (1-based; 3 is the symbol, 11 the synonyms, where SGD puts
    the systematic name). A column of ``|``-separated names gives the first that ``known`` holds
    (the first name when ``known`` is None or holds none of them).
    """
    out = []
    seen_header = False
    for n, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        if line.startswith("!"):
            seen_header = seen_header or line.startswith("!gaf-version")
            continue
        cells = line.split("\t")
        if len(cells) < GAF_COLUMNS - 2 or len(cells) > GAF_COLUMNS:
            raise DataError(str(path), [f"line {n}: expected {GAF_COLUMNS} tab-separated columns (GAF 2.x), "
                                        f"found {len(cells)}"])
        term, evidence, qualifier = cells[4].strip(), cells[6].strip(), cells[3]
        if ":" not in term:
            raise DataError(str(path), [f"line {n}: column 5 (GO ID) should be a term id such as GO:0008150, "
                                        f"got {term!r}"])
        if not evidence:
            raise DataError(str(path), [f"line {n}: column 7 (evidence code) is empty"])
        if gene_column > len(cells) or not cells[gene_column - 1].strip():
            raise DataError(str(path), [f"line {n}: column {gene_column} (the gene, option gene_column) is empty"])
        if "NOT" in qualifier.split("|"):
            continue
        names = [g.strip() for g in cells[gene_column - 1].split("|") if g.strip()]
        gene = next((g for g in names if known is None or g in known), names[0])
        out.append((gene, term, evidence, n))
    if not seen_header and not out:
        raise DataError(str(path), ["no annotations and no '!gaf-version' header: not a GAF file"])
    return out


# -- DCell topology ----------------------------------------------------------------------------------

def read_topology(path: Path) -> Ontology:
    """DCell's ontology file: blocks of ``ROOT: <term> <n genes>`` / ``GENES: <genes annotated
    directly>`` / ``TERMS: <child terms>``; every child must have a block of its own."""
    terms, edges, annotations, totals, where, listed = {}, [], [], {}, {}, {}
    lines = read_lines(path)
    expect, current = "ROOT", None
    for n, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        tag, _, rest = text.partition(":")
        tag = tag.strip()
        if tag != expect or not _:
            raise DataError(str(path), [f"line {n}: expected '{expect}:' (blocks of ROOT/GENES/TERMS lines), "
                                        f"got {text[:60]!r}"])
        values = rest.split()
        if tag == "ROOT":
            if len(values) != 2 or not values[1].isdigit():
                raise DataError(str(path), [f"line {n}: expected 'ROOT: <term> <number of genes>', got {text!r}"])
            current = values[0]
            if current in terms:
                raise DataError(str(path), [f"line {n}: term {current} has a block already (line {where[current]})"])
            terms[current], where[current], totals[current] = "", n, (int(values[1]), n)
            expect = "GENES"
        elif tag == "GENES":
            annotations += [(g, current, "") for g in values]
            expect = "TERMS"
        else:
            edges += [(child, current) for child in values]
            listed[current], expect = n, "ROOT"
    if expect != "ROOT":
        raise DataError(str(path), [f"line {len(lines)}: the file ends inside the block of {current} "
                                    f"(no '{expect}:' line)"])
    if not terms:
        raise DataError(str(path), ["no ROOT blocks"])
    for child, parent in edges:
        if child not in terms:
            raise DataError(str(path), [f"line {listed[parent]}: TERMS of {parent} names {child}, which has no "
                                        "ROOT block"])
    return Ontology(terms, sorted(set(edges)), annotations, totals)
