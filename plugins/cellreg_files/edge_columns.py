"""The columnar engine for edge files: pyarrow parses the rows after the first data line; gene
names, prefixes, filters and relation names are handled over *distinct* values (dictionary
encoding), then expanded to edges with numpy.

The first data line goes through the line reader's own code (:class:`cellreg_files.edges._Collector`),
so ``header = "auto"`` decides exactly as before. Anything the line reader would report (an empty
gene or relation name, a bad weight, a short row) raises :class:`~cellreg.toolkit.columnar.Fallback`,
and :func:`cellreg_files.edges.read_edge_file` rereads the file line by line for the message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cellreg.toolkit.columnar import ColumnFile, Fallback, dictionary, floats, release_arrow_memory
from cellreg.toolkit.text_tables import column_index
from cellreg_files.configs import EdgeFile


def _names(values: list[str], codes: np.ndarray, prefix: str, ids: dict[str, int]) -> np.ndarray:
    """Row codes -> interned gene ids, interning only the distinct names the rows use."""
    used = np.unique(codes)
    to = np.full(len(values), -1, np.int64)
    plen = len(prefix)
    for i in used.tolist():
        name = values[i].strip()
        if plen and name.startswith(prefix):
            name = name[plen:]
        if not name:
            raise Fallback("an empty gene name")
        to[i] = ids.setdefault(name, len(ids))
    return to[codes]


def read_edge_columns(path: Path, spec: EdgeFile, ids: dict[str, int], vocabulary: set[str] | None):
    from cellreg_files.edges import EdgePart, _Collector, _first_row_is_header, warn_header_guess

    file = ColumnFile(path, spec.delimiter, spec.comment)
    if file.first is None:
        raise Fallback("no data line")
    named = any(isinstance(c, str) for c in spec.columns().values())
    header = file.first[1] if named or spec.header is True else None
    cols = {opt: column_index(c, header, file, opt) for opt, c in spec.columns().items()}
    text = [cols[o] for o in ("source", "target", "relation_column", "filter.column") if o in cols]
    body = file.read(text=text, numbers=[cols["weight"]] if "weight" in cols else [], missing=False)
    table, n, body_lines = body.table, body.num_rows, body.line_of
    del body  # the closures below keep the line numbers, not the Arrow table
    keep = np.ones(n, bool)
    if "filter.column" in cols:
        values, codes = dictionary(table, f"c{cols['filter.column']}")
        match = np.asarray([v.strip() == spec.filter.equals for v in values], bool)
        keep = match[codes] if n else keep
    rows = np.flatnonzero(keep)
    # the body's genes are interned before the first line is judged, as the line reader does
    def gene_ids(option: str, table=table) -> np.ndarray:
        """Only the rows the filter keeps: the line reader never sees a filtered row's genes either."""
        if not n:
            return np.zeros(0, np.int64)
        values, codes = dictionary(table, f"c{cols[option]}")
        return _names(values, codes[rows], spec.strip_prefix, ids)

    src, dst = gene_ids("source"), gene_ids("target")
    weight = floats(table, f"c{cols['weight']}", missing=False)[rows] if "weight" in cols else None
    rel_names: list[str] = [spec.relation] if spec.relation_column is None else []
    relation = np.zeros(len(rows), np.int64)
    if spec.relation_column is not None and n:
        values, codes = dictionary(table, f"c{cols['relation_column']}")
        stripped = [v.strip() for v in values]
        codes = codes[rows]
        distinct, first = np.unique(codes, return_index=True)
        if any(not stripped[i] for i in distinct.tolist()):
            raise Fallback("an empty relation name")
        order: dict[str, int] = {}
        to = np.zeros(len(values), np.int64)
        for i in distinct[np.argsort(first)].tolist():
            to[i] = order.setdefault(stripped[i], len(order))
        relation, rel_names = to[codes], list(order)
    del table, gene_ids  # the Arrow table, which the closure holds too
    release_arrow_memory()

    # the first data line: the line reader's collector, judged after the body as the line reader does
    collector = _Collector(file, spec, cols, ids)
    collector.rows_seen = n
    first_is_data = spec.header is False and header is None
    if header is None and spec.header is not False:
        reason = _first_row_is_header(spec, collector, file.first[1], vocabulary)
        first_is_data = reason is None
        if reason == "genes":
            warn_header_guess(path, file.first, file.delimiter, vocabulary is not None)
    line_rows = rows
    if first_is_data:
        collector.add([file.first])  # a short row, an empty name: the line reader's own errors
        if collector.src:
            if spec.relation_column is not None:
                own = list(collector.rel_ids)[0]
                # header = false reads the first line first, "auto" last: relation names in that order
                order = [own] + [r for r in rel_names if r != own] if spec.header is False else \
                    rel_names + ([own] if own not in rel_names else [])
                relation = np.concatenate([[order.index(own)], np.asarray([order.index(r) for r in rel_names],
                                                                          np.int64)[relation]])
                rel_names = order
            else:
                relation = np.concatenate([[0], relation])
            src, dst = np.concatenate([collector.src, src]), np.concatenate([collector.dst, dst])
            if weight is not None:
                weight = np.concatenate([_weight_of_first(collector, path, spec), weight])
            line_rows = np.concatenate([[-1], rows])
    if weight is not None and spec.min_score is not None:
        ok = weight >= spec.min_score
        src, dst, weight, relation, line_rows = src[ok], dst[ok], weight[ok], relation[ok], line_rows[ok]
    first_line = file.first[0]

    def line_of(r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, np.int64)
        out = np.full(len(r), first_line, np.int64)
        body_rows = r >= 0
        if body_rows.any():
            out[body_rows] = body_lines(r[body_rows])
        return out

    return EdgePart(path, spec, src, dst, weight, relation, rel_names, line_rows, line_of)


def _weight_of_first(collector, path: Path, spec: EdgeFile) -> np.ndarray:
    """The first line's weight before ``min_score`` (applied once, to all edges, by the caller)."""
    from cellreg.toolkit.text_tables import parse_floats
    from cellreg_files.edges import describe

    return parse_floats(collector.weight, np.asarray(collector.lines), path, describe(spec, "weight"),
                        missing_ok=False)
