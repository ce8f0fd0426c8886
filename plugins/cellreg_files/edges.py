"""GraphSource ``edge_list``: a CellGraph from gene-gene edge files (plain, STRING, BioGRID, ...).

Gene names are interned to ids (one dict lookup per distinct name with the columnar engine,
:mod:`cellreg_files.edge_columns`; per cell with the line reader, its reference and fallback) and
only mapped to the vocabulary at the end, so a file never needs to be held as rows of strings.
The built graph is cached by the content of its files (:mod:`cellreg.toolkit.table_cache`).
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import attrs
import numpy as np

from cellreg import GraphSource
from cellreg.plugin_api.sources import Context
from cellreg.toolkit.gene_list import read_gene_list
from cellreg_files.configs import EdgeFile, EdgeListConfig
from cellreg.toolkit.text_tables import TextTable, column_index, suggest, is_number, parse_floats, read_table, short_row, \
    unknown_genes_message

if TYPE_CHECKING:
    from cellreg.data.graph import CellGraph


@attrs.define
class EdgePart:
    """The edges of one ``[[graph.files]]`` entry; genes are ids into the shared name table."""

    path: Path
    spec: EdgeFile
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray | None
    relation: np.ndarray  # per edge, an index into relation_names
    relation_names: list[str]
    rows: np.ndarray  # per edge, what line_of maps to its line number
    line_of: Callable[[np.ndarray], np.ndarray] = attrs.field(default=lambda rows: rows)  # line reader: rows = lines


class _Collector:
    """The hot loop: rows to interned gene ids, raw weight cells and line numbers."""

    def __init__(self, table: TextTable, spec: EdgeFile, cols: dict[str, int], ids: dict[str, int]):
        self.table, self.spec, self.cols, self.ids = table, spec, cols, ids
        self.rel_ids: dict[str, int] = {} if spec.relation_column is not None else {spec.relation: 0}
        self.src: list[int] = []
        self.dst: list[int] = []
        self.weight: list[str] = []
        self.relation: list[int] = []
        self.lines: list[int] = []
        self.rows_seen = 0

    def gene(self, cells: list[str], option: str) -> str:
        name = cells[self.cols[option]].strip()
        prefix = self.spec.strip_prefix
        return name[len(prefix):] if prefix and name.startswith(prefix) else name

    def add(self, rows) -> None:
        cols, spec, ids, rel_ids = self.cols, self.spec, self.ids, self.rel_ids
        s_i, t_i = cols["source"], cols["target"]
        w_i, r_i, f_i = cols.get("weight"), cols.get("relation_column"), cols.get("filter.column")
        equals = spec.filter.equals if spec.filter is not None else None
        prefix = spec.strip_prefix
        plen = len(prefix)
        need = max(cols.values()) + 1
        src, dst, weight, relation, lines = self.src, self.dst, self.weight, self.relation, self.lines
        for n, cells in rows:
            self.rows_seen += 1
            if len(cells) < need:
                raise short_row(self.table, n, cells, need)
            if f_i is not None and cells[f_i].strip() != equals:
                continue
            a, b = cells[s_i].strip(), cells[t_i].strip()
            if plen:
                a = a[plen:] if a.startswith(prefix) else a
                b = b[plen:] if b.startswith(prefix) else b
            if not a or not b:
                raise ValueError(f"{self.table.path}: line {n}: empty gene name")
            src.append(ids.setdefault(a, len(ids)))
            dst.append(ids.setdefault(b, len(ids)))
            if w_i is not None:
                weight.append(cells[w_i])
            if r_i is not None:
                r = cells[r_i].strip()
                if not r:
                    raise ValueError(f"{self.table.path}: line {n}, column {describe(spec, 'relation_column')}: "
                                     f"empty relation name")
                relation.append(rel_ids.setdefault(r, len(rel_ids)))
            lines.append(n)

    def finish(self) -> EdgePart:
        spec, path = self.spec, self.table.path
        lines = np.asarray(self.lines, dtype=np.int64)
        n = len(lines)
        src = np.asarray(self.src, dtype=np.int64).reshape(n)
        dst = np.asarray(self.dst, dtype=np.int64).reshape(n)
        relation = np.asarray(self.relation, dtype=np.int64) if spec.relation_column is not None \
            else np.zeros(n, dtype=np.int64)
        weight = None
        if spec.weight is not None:
            weight = parse_floats(self.weight, lines, path, describe(spec, "weight"), missing_ok=False)
            if spec.min_score is not None:
                keep = weight >= spec.min_score
                src, dst, weight, relation, lines = src[keep], dst[keep], weight[keep], relation[keep], lines[keep]
        return EdgePart(path, spec, src, dst, weight, relation, list(self.rel_ids), lines)


def describe(spec: EdgeFile, option: str) -> str:
    column = spec.columns()[option]
    return repr(column) if isinstance(column, str) else f"{column} ({option}, counted from 0)"


def _first_row_is_header(spec: EdgeFile, collector: _Collector, first: list[str],
                         vocabulary: set[str] | None) -> str | None:
    """``header = "auto"`` with index columns: a header if its weight cell is not a number, or if
    neither of its genes is known (in the vocabulary, else in any other row read so far). Returns
    why it is a header ("weight" or "genes"), or None for data."""
    cols = collector.cols
    if len(first) < max(cols.values()) + 1:
        return None  # reported as a short data row
    if "weight" in cols and not is_number(first[cols["weight"]]):
        return "weight"
    known = vocabulary if vocabulary is not None else collector.ids
    if vocabulary is None and collector.rows_seen == 0:
        return None  # a one-row file is data
    if any(collector.gene(first, opt) in known for opt in ("source", "target")):
        return None
    return "genes"


def warn_header_guess(path: Path, first: tuple[int, list[str]], delimiter: str, has_vocabulary: bool) -> None:
    where = "in the vocabulary" if has_vocabulary else "on any other line"
    warnings.warn(f"{path}: line {first[0]} ({delimiter.join(first[1])[:80]!r}) was taken for a header and "
                  f"skipped, as neither of its genes is {where} (header = \"auto\"); set header = false if it is an "
                  "edge, header = true to say it is a header", stacklevel=4)


def read_edge_file(path: Path, spec: EdgeFile, ids: dict[str, int], vocabulary: set[str] | None,
                   engine: str = "auto") -> EdgePart:
    """One ``[[graph.files]]`` entry: the columnar engine, or the line reader where it cannot promise
    the same result (``engine = "lines"`` forces the line reader, the reference)."""
    if engine != "lines":
        from cellreg.toolkit.columnar import Fallback
        from cellreg_files.edge_columns import read_edge_columns

        try:
            return read_edge_columns(path, spec, ids, vocabulary)
        except Fallback:
            pass
    return read_edge_lines(path, spec, ids, vocabulary)


def read_edge_lines(path: Path, spec: EdgeFile, ids: dict[str, int], vocabulary: set[str] | None) -> EdgePart:
    with read_table(path, spec.delimiter, spec.comment) as table:
        named = any(isinstance(c, str) for c in spec.columns().values())
        header = table.first[1] if table.first is not None and (named or spec.header is True) else None
        cols = {opt: column_index(c, header, table, opt) for opt, c in spec.columns().items()}
        collector = _Collector(table, spec, cols, ids)
        if table.first is None:
            return collector.finish()
        if header is not None:
            collector.add(table.rows)
        elif spec.header is False:
            collector.add(itertools.chain([table.first], table.rows))
        else:
            collector.add(table.rows)
            reason = _first_row_is_header(spec, collector, table.first[1], vocabulary)
            if reason is None:
                collector.add([table.first])
            elif reason == "genes":  # a guess: an edge between two genes seen nowhere else looks the same
                warn_header_guess(path, table.first, table.delimiter, vocabulary is not None)
        return collector.finish()


@attrs.define
class _Merged:
    src: list[np.ndarray]
    dst: list[np.ndarray]
    weight: list[np.ndarray] | None
    directed: bool
    first: Path


def _filter_kept_nothing(part: EdgePart, i: int) -> None:
    """A filter that keeps no row of a non-empty file is a typo far more often than a wish for an
    empty relation: say so, with the values the column holds (read again only on this path)."""
    spec, flt = part.spec, part.spec.filter
    values: dict[str, None] = {}
    with read_table(part.path, spec.delimiter, spec.comment) as table:
        named = any(isinstance(c, str) for c in spec.columns().values())
        header = table.first[1] if table.first is not None and (named or spec.header is True) else None
        if table.first is None:
            return
        col = column_index(flt.column, header, table, "filter.column")
        rows = table.rows if header is not None else itertools.chain([table.first], table.rows)
        for _, cells in rows:
            if col < len(cells):
                values.setdefault(cells[col].strip())
    if values and flt.equals.strip() not in values:  # else the rows were there and min_score took them
        shown = ", ".join(map(repr, list(values)[:10]))
        raise ValueError(f"{part.path}: graph.files[{i}].filter ({flt.column!r} equals {flt.equals!r}) keeps none of "
                         f"its rows{suggest(flt.equals, list(values))}; the column holds {shown}")


class EdgeListSource(GraphSource):
    """Reads every configured file, then maps names to the vocabulary and merges relations."""

    def __init__(self, config: EdgeListConfig, context: Context):
        self.config = config
        self.genes_path = context.resolve(config.genes) if config.genes is not None else None
        self.aliases_path = context.resolve(config.aliases) if config.aliases is not None else None
        self.paths = [context.resolve(f.path) for f in config.files]

    def check(self) -> list[str]:
        missing = [(f"graph.files[{i}].path", p) for i, p in enumerate(self.paths) if not p.is_file()]
        if self.genes_path is not None and not self.genes_path.is_file():
            missing.insert(0, ("graph.genes", self.genes_path))
        if self.aliases_path is not None and not self.aliases_path.is_file():
            missing.insert(0, ("graph.aliases", self.aliases_path))
        return [f"{key}: no such file: {path}" for key, path in missing]

    def load(self, engine: str = "auto") -> CellGraph:
        from cellreg.toolkit import table_cache

        inputs = [p for p in (self.genes_path, self.aliases_path) if p is not None] + list(dict.fromkeys(self.paths))
        entry = table_cache.Entry("edges", inputs, {"config": attrs.asdict(self.config),
                                                    "paths": [str(p) for p in inputs]},
                                  code=(__name__,))  # and what it imports, found by the cache (gene_list too)
        cached = entry.load()
        if cached is not None:
            return _graph_from_cache(cached)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            graph = self._load(engine)
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=2)
        entry.save(_graph_to_cache(graph, [str(w.message) for w in caught]))
        return graph

    def _load(self, engine: str) -> CellGraph:
        from cellreg.toolkit.gene_list import read_aliases
        from cellreg.toolkit.gene_names import GeneNames

        vocabulary = read_gene_list(self.genes_path) if self.genes_path is not None else None
        aliases = read_aliases(self.aliases_path) if self.aliases_path is not None else None
        vocab_set = None
        if vocabulary is not None:  # for header = "auto": a gene known by any spelling the aliases allow
            vocab_set = set(vocabulary) if aliases is None else GeneNames(vocabulary, aliases)
        ids: dict[str, int] = {}
        parts = [read_edge_file(p, spec, ids, vocab_set, engine) for p, spec in zip(self.paths, self.config.files)]
        for i, part in enumerate(parts):
            if part.spec.filter is not None and len(part.src) == 0:
                _filter_kept_nothing(part, i)
        names = list(ids)
        if vocabulary is None:
            used = np.unique(np.concatenate([np.zeros(0, np.int64)] + [a for p in parts for a in (p.src, p.dst)]))
            spelled = GeneNames((), aliases)
            vocabulary = sorted({spelled.canonical(names[i]) for i in used})
            if not vocabulary:
                raise ValueError(f"{self.paths[0]}: no edges in any edge file, so no genes")
        resolver = GeneNames(vocabulary, aliases)
        remap = resolver.lookup(names)
        merged: dict[str, _Merged] = {}
        for part in parts:
            src, dst = remap[part.src], remap[part.dst]
            keep = self._known(part, names, src, dst, resolver)
            for r, name in enumerate(part.relation_names):
                sel = (part.relation == r) & keep
                m = self._entry(merged, name, part)
                m.src.append(src[sel])
                m.dst.append(dst[sel])
                if m.weight is not None:
                    m.weight.append(part.weight[sel])
        edges = [(name, np.concatenate(m.src), np.concatenate(m.dst),
                  None if m.weight is None else np.concatenate(m.weight), m.directed)
                 for name, m in merged.items()]
        from cellreg.data.graph import CellGraph  # torch: only once a graph is built

        return CellGraph.from_edges(vocabulary, edges)

    def _known(self, part: EdgePart, names: list[str], src: np.ndarray, dst: np.ndarray, resolver) -> np.ndarray:
        """Edges whose genes are both in the vocabulary; unknown ones raise or warn per config."""
        bad_src, bad_dst = src < 0, dst < 0
        bad = bad_src | bad_dst
        if not bad.any():
            return ~bad
        rows = np.flatnonzero(bad)
        line = np.zeros(len(bad), np.int64)
        line[rows] = part.line_of(part.rows[rows])
        unknown, lines = [], []
        for i in rows:
            for ids, flag in ((part.src, bad_src), (part.dst, bad_dst)):
                if flag[i]:
                    unknown.append(names[ids[i]])
                    lines.append(int(line[i]))
        msg = unknown_genes_message(part.path, unknown, lines, [""] * len(unknown),
                                    f"the vocabulary {self.genes_path}", resolver.known)
        if self.config.unknown_genes == "error":
            raise ValueError(msg + '; set unknown_genes = "drop" to skip those edges')
        warnings.warn(f"{msg}; dropped {len(rows):,} edge line(s)", stacklevel=3)
        return ~bad

    @staticmethod
    def _entry(merged: dict[str, _Merged], name: str, part: EdgePart) -> _Merged:
        """A relation may come from several entries if they agree on direction and weights."""
        weighted = part.weight is not None
        m = merged.get(name)
        if m is None:
            m = merged[name] = _Merged([], [], [] if weighted else None, part.spec.directed, part.path)
        elif m.directed != part.spec.directed or (m.weight is not None) != weighted:
            raise ValueError(f"{part.path}: relation {name!r} is also read from {m.first} with a different "
                             f"directed or weight setting; they must agree to be merged")
        return m


def _graph_to_cache(graph: CellGraph, messages: list[str]) -> dict[str, np.ndarray]:
    from cellreg.toolkit.table_cache import strings

    out = {"genes": strings(graph.genes), "warnings": strings(messages), "relations": strings(graph.relations),
           "directed": np.array([r.directed for r in graph.relations.values()], bool)}
    for i, rel in enumerate(graph.relations.values()):
        out[f"edge_index{i}"] = rel.edge_index.numpy()
        if rel.weight is not None:
            out[f"weight{i}"] = rel.weight.numpy()
    return out


def _graph_from_cache(z: dict[str, np.ndarray]) -> CellGraph:
    import torch

    from cellreg.data.graph import CellGraph, Relation

    for message in z["warnings"].tolist():
        warnings.warn(message, stacklevel=3)
    relations = {}
    for i, (name, directed) in enumerate(zip(z["relations"].tolist(), z["directed"].tolist())):
        weight = z.get(f"weight{i}")
        relations[name] = Relation(name=name, edge_index=torch.from_numpy(z[f"edge_index{i}"]),
                                   weight=None if weight is None else torch.from_numpy(weight), directed=directed)
    return CellGraph(genes=tuple(z["genes"].tolist()), relations=relations)
