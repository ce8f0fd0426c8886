"""The columnar engine: delimited files parsed by ``pyarrow.csv`` (multithreaded, in C++), with the
line reader of :mod:`cellreg.toolkit.text_tables` as the reference it must agree with.

pyarrow rather than polars: its CSV reader is multithreaded, it reads text columns straight into
dictionary-encoded arrays (so gene names are looked up once per distinct name, not once per row),
and it writes Parquet / Arrow IPC, which the feature files and the table cache use too.

Semantics kept from the line reader: the first data line (header candidate) is found and split in
Python exactly as :func:`~cellreg.toolkit.text_tables.read_table` does, and only the rest goes to
pyarrow. Whatever pyarrow could read differently (comment lines after the first line, quotes, runs
of whitespace for ``delimiter = " "``, a row with another number of fields, a cell that is not a
number) raises :class:`Fallback`, and the caller reads the file with the line reader, which gives
today's error naming the file, line and column. Line numbers are worked out only when a message
needs them (:meth:`Columns.line_of`).
"""

from __future__ import annotations

import gzip
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import attrs
import numpy as np

from cellreg.toolkit.mapped_file import MARKS, contains, windows
from cellreg.toolkit.text_tables import MISSING, read_table

CHUNK = 1 << 24


class Fallback(Exception):
    """The columnar engine cannot promise the line reader's result for this file (say why)."""


def _null_spellings() -> list[str]:
    """Every upper/lower-case spelling of the missing markers (pyarrow compares null values exactly)."""
    out = set()
    for word in MISSING:
        for combo in itertools.product(*[(c.lower(), c.upper()) for c in word]):
            out.add("".join(combo))
    return sorted(out)


NULLS = _null_spellings()


def _raw_chunks(path: Path):
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def text_chunks(path: Path):
    """The file's bytes as the line reader sees them (``.gz`` decompressed), in large chunks."""
    if path.suffix != ".gz":
        yield from _raw_chunks(path)
        return
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
    except (OSError, EOFError) as exc:
        raise Fallback(f"gzip: {exc}") from None


@attrs.define
class LineCount:
    """Physical lines (``\n``, ``\r\n``, a lone ``\r`` or a last line without one), counted chunk by chunk."""

    newlines: int = 0
    cr: int = 0
    crlf: int = 0
    prev: bytes = b""
    last: bytes = b"\n"

    def add(self, chunk: bytes) -> None:
        self.newlines += chunk.count(b"\n")
        if b"\r" in chunk:
            self.cr += chunk.count(b"\r")
            self.crlf += chunk.count(b"\r\n")
        if self.prev == b"\r" and chunk[:1] == b"\n":
            self.crlf += 1
        self.prev = self.last = chunk[-1:]

    @property
    def physical(self) -> int:
        return self.newlines + (self.cr - self.crlf) + (0 if self.last in (b"\n", b"\r") else 1)

    @property
    def lone_cr(self) -> bool:
        return self.cr != self.crlf


@attrs.define
class Scan:
    """What one pass over the bytes after the first data line found, of what the delimiter makes
    matter: the comment marker anywhere, quotes (other than for tabs and spaces), whitespace other
    than spaces (for spaces). Lines are counted only when a message needs a line number."""

    comment: bool = False  # the comment marker occurs somewhere (maybe not at a line start)
    quote: bool = False
    whitespace_ok: bool = True  # for delimiter " ": no other whitespace than spaces and newlines
    size: int = 0  # bytes after the first data line


def chunks_after(path: Path, offset: int):
    """The text from byte ``offset`` on, in large chunks."""
    pos = 0
    for chunk in text_chunks(path):
        if pos + len(chunk) > offset:
            yield chunk[max(offset - pos, 0):]
        pos += len(chunk)


def scan(path: Path, start: int, delimiter: str, comment: str) -> Scan:
    """Whether pyarrow could split the text after byte ``start`` otherwise than the line reader. An
    uncompressed file is searched in place (:mod:`~cellreg.toolkit.mapped_file`: memchr speed, no
    copy, one search per question; four counts over copied chunks of a 1.8 GB file took 2.2–2.9 s
    beside the parse, this 0.3–0.8 s). Runs of spaces (``delimiter = " "``) are found after parsing
    instead: they make empty fields."""
    comment_b = comment.encode()
    quotes = delimiter not in ("\t", " ")
    if path.suffix != ".gz" and delimiter != " ":
        return Scan(comment=bool(comment_b) and contains(path, comment_b, start),
                    quote=quotes and contains(path, b'"', start), size=max(path.stat().st_size - start, 0))
    out = Scan()
    for chunk in chunks_after(path, start):
        out.size += len(chunk)
        out.comment |= bool(comment_b) and comment_b in chunk
        out.quote |= quotes and b'"' in chunk
        if delimiter == " " and out.whitespace_ok:  # one-byte searches only (memchr speed)
            out.whitespace_ok = chunk.isascii() and not any(b in chunk for b in _SEPARATORS)
    return out


def count_lines(path: Path, start: int) -> tuple[int, bool]:
    """Physical lines after byte ``start``, and whether a lone ``\r`` occurs. An uncompressed file
    without ``\r`` is counted in place by numpy (0.8 s for 1.8 GB); any other file chunk by chunk."""
    if path.suffix != ".gz" and path.stat().st_size > start and not contains(path, b"\r", start):
        newlines, last = 0, 10
        for window, at in windows(path, start):
            body = np.frombuffer(window, np.uint8)[at:]
            newlines += int(np.count_nonzero(body == 10))
            last = int(body[-1]) if len(body) else last
            del body  # a window unmaps only once no array points into it
        return newlines + (last != 10), False
    count = LineCount()
    for chunk in chunks_after(path, start):
        count.add(chunk)
    return count.physical, count.lone_cr


def plain_prefix(path: Path, start: int, lines: int) -> bool:
    """Whether the first ``lines`` lines after byte ``start`` are one row each as the parse reads
    them (none empty, no ``\r``), reading the file only as far as they go: a warning naming one of
    the first rows of 20 M reads one window (0.01 s), not the 1.8 GB that counting every line
    reads (0.8–1.1 s)."""
    if path.suffix == ".gz" or lines <= 0:
        return lines <= 0
    seen, prev = 0, 10  # the line before the body ended: an empty first line is a blank line too
    for window, at in windows(path, start):
        body = np.frombuffer(window, np.uint8)[at:]
        ends = np.flatnonzero(body == 10)
        done = len(ends) >= lines - seen
        part = body[:int(ends[lines - seen - 1]) + 1] if done else body
        blank = len(part) > 0 and ((prev == 10 and part[0] == 10) or window.find(b"\n\n", at, at + len(part)) >= 0)
        bad = blank or bool((part == 13).any())
        seen, prev = seen + len(ends), (int(part[-1]) if len(part) else prev)
        del body, ends, part  # a window unmaps only once no array points into it
        if bad or done:
            return not bad
    return seen + (prev != 10) >= lines  # the last line may end without a newline


_SEPARATORS = [bytes([c]) for c in (0x09, 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x1f)]  # str.split() splits on these


@attrs.define
class LineNumbers:
    """Line numbers of a parse's rows, kept apart from its table so that an error message's lookup
    does not keep 20 M rows of Arrow memory alive once they are converted."""

    body_start_line: int  # the line number of the line after the first data line
    offset: int  # the byte offset of that line
    num_rows: int
    path: Path
    delimiter: str
    comment: str
    _every_line_a_row: bool | None = None

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """Line numbers (1-based, as in the file) of rows: arithmetic when every line after the first
        data line up to the last row asked is a row (:func:`plain_prefix`), or every line of the file
        is (one counting pass, the first time); else one pass of the line reader."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._every_line_a_row is None and len(rows) and plain_prefix(self.path, self.offset, int(rows.max()) + 1):
            return self.body_start_line + rows  # every line up to the last asked is a row
        if self._every_line_a_row is None:
            physical, lone_cr = count_lines(self.path, self.offset)
            self._every_line_a_row = not lone_cr and physical == self.num_rows
        if self._every_line_a_row:
            return self.body_start_line + rows
        return data_lines(self.path, self.delimiter, self.comment)[1:][rows]


@attrs.frozen
class Columns:
    """The rows after the first data line, read by columns (Arrow, named c0, c1, ...)."""

    table: object  # pyarrow.Table
    line_of: LineNumbers  # data rows -> line numbers

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


def data_lines(path: Path, delimiter: str, comment: str) -> np.ndarray:
    """The line number of every data line (not blank, not a comment), as the line reader counts."""
    with read_table(path, delimiter, comment) as table:
        if table.first is None:
            return np.zeros(0, np.int64)
        return np.fromiter(itertools.chain([table.first[0]], (n for n, _ in table.rows)), np.int64)


def _line_end(data: bytes, offset: int) -> int:
    """The offset after the line starting at ``offset`` (``\\n``, ``\\r\\n`` or a lone ``\\r``), -1 if
    it is not complete in ``data``."""
    n, r = data.find(b"\n", offset), data.find(b"\r", offset)
    if r >= 0 and (n < 0 or r < n):
        if r + 1 >= len(data):
            return -1
        return r + 2 if data[r + 1:r + 2] == b"\n" else r + 1
    return n + 1 if n >= 0 else -1


class ColumnFile:
    """A delimited file opened for the columnar engine. Its first data line is read and split by the
    line reader (so header errors and ``header = "auto"`` guesses are the line reader's own); it has
    the attributes :func:`~cellreg.toolkit.text_tables.column_index` reads. :meth:`read` parses the rest."""

    def __init__(self, path: Path, delimiter: str, comment: str):
        self.path, self.comment = Path(path), comment
        with read_table(self.path, delimiter, comment) as table:
            self.first, self.comment_before_first, self.delimiter = \
                table.first, table.comment_before_first, table.delimiter
        self.offset = self._offset_after_first() if self.first is not None else 0

    def _offset_after_first(self) -> int:
        offset, line, head = 0, 0, b""
        for chunk in text_chunks(self.path):
            head += chunk
            while line < self.first[0]:
                nl = _line_end(head, offset)
                if nl < 0:
                    break
                offset, line = nl, line + 1
            if line >= self.first[0]:
                return offset
        return len(head)  # the first data line is the last line and has no newline

    def read(self, text: Sequence[int] = (), numbers: Sequence[int] = (), missing: bool = False,
             hashed_meanwhile: bool = False) -> Columns:
        """``text`` column indices as dictionary-encoded strings, ``numbers`` as float64 (with
        ``missing`` the :data:`~cellreg.toolkit.text_tables.MISSING` markers are null). Raises
        :class:`Fallback` where the line reader could read the file differently.
        ``hashed_meanwhile``: another thread hashes the file while it is parsed; where that hash's
        marks answer the scan (:func:`marks_answer_scan`), the scan asks after the parse, not beside
        it (where it would read the file a second time)."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as csv

        path, delim, comment = self.path, self.delimiter, self.comment
        width = len(self.first[1]) if self.first is not None else 0
        if width < 2:
            raise Fallback("one column")  # a line of blanks would be a row of one empty cell
        names = [f"c{i}" for i in range(width)]
        wanted = sorted(set(text) | set(numbers))
        if wanted and wanted[-1] >= width:
            raise Fallback("a column beyond the first line's fields")
        if delim == " " and wanted:
            # str.split never gives an empty field; pyarrow gives one for two spaces in a row, a
            # leading or a trailing space. Read every column up to the last one used, so that such a
            # field cannot shift the used ones unnoticed, and refuse empty cells below.
            text = sorted(set(range(wanted[-1] + 1)) - set(numbers))
            wanted = sorted(set(text) | set(numbers))
            missing_values = [v for v in NULLS if v]
        else:
            missing_values = NULLS
        types = {names[i]: pa.dictionary(pa.int32(), pa.string()) for i in text}
        types.update({names[i]: pa.float64() for i in numbers})
        # the scan (one thread, memchr-speed searches) runs beside the parse (pyarrow's threads, without
        # the GIL). Its verdict is applied after, whatever the parse did; a file it refuses was
        # parsed for nothing.
        with ThreadPoolExecutor(1) as pool:
            after = hashed_meanwhile and marks_answer_scan(path, delim, comment)
            scanned = None if after else pool.submit(scan, path, self.offset, delim, comment)
            try:
                source = pa.input_stream(str(path), compression="gzip" if path.suffix == ".gz" else None)
                source.read(self.offset)
                table, error = csv.read_csv(
                    source,
                    read_options=csv.ReadOptions(column_names=names, block_size=1 << 24),
                    parse_options=csv.ParseOptions(delimiter=delim, quote_char=False, escape_char=False,
                                                   newlines_in_values=False, ignore_empty_lines=True),
                    convert_options=csv.ConvertOptions(include_columns=[names[i] for i in wanted], column_types=types,
                                                       null_values=missing_values if missing else [],
                                                       strings_can_be_null=False, quoted_strings_can_be_null=False),
                ), None
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as exc:
                table, error = None, exc
            s = scanned.result() if scanned is not None else scan(path, self.offset, delim, comment)
        if s.comment and _has_comment_line(path, self.offset, comment):
            raise Fallback("comment lines after the first line")
        if s.quote and delim not in ("\t", " "):
            raise Fallback("quoted fields")  # csv.reader's way with odd quoting is the reference
        if not s.whitespace_ok:
            raise Fallback("whitespace other than spaces")
        if s.size == 0:  # only the first line: pyarrow refuses an empty input
            table = pa.table({names[i]: pa.array([], types[names[i]]) for i in wanted})
            return Columns(table, LineNumbers(self.first[0] + 1, self.offset, 0, path, delim, comment))
        if error is not None:
            raise Fallback(str(error)) from None
        if delim == " ":
            for i in text:
                column = table.column(names[i])
                if column.num_chunks and pc.any(pc.equal(column.unify_dictionaries().chunk(0).dictionary, "")).as_py():
                    raise Fallback("runs of spaces")
        return Columns(table, LineNumbers(self.first[0] + 1, self.offset, table.num_rows, path, delim, comment))


def marks_answer_scan(path: Path, delimiter: str, comment: str) -> bool:
    """Whether a hash of the file (:func:`~cellreg.toolkit.mapped_file.read_through`) answers every
    question :func:`scan` asks of it: an uncompressed file, not split on spaces, whose comment marker
    is one of the marks the hash notes."""
    return path.suffix != ".gz" and delimiter != " " and comment.encode() in (b"", *MARKS)


def _has_comment_line(path: Path, offset: int, comment: str) -> bool:
    """Whether a line after ``offset`` starts (after blanks) with the comment marker: the cheap scan
    only saw the marker somewhere."""
    import re

    pattern = re.compile(rb"(?:^|[\r\n])[ \t\x0b\x0c]*" + re.escape(comment.encode()))
    tail = b"\n"
    for chunk in chunks_after(path, offset):
        if pattern.search(tail + chunk):
            return True
        tail = chunk[-64:]
    return False


def release_arrow_memory() -> None:
    """Hand what Arrow's pool (mimalloc or jemalloc) keeps after a parse's table is freed back to the
    system. numpy's arrays come from another allocator and never reuse it: a cold ``aggregate = "mean"``
    inspect of the 20 M-row table peaked at 4.1 GB with it kept, 3.0 GB without, and spent less time
    faulting in fresh pages. The system pool is malloc's, whose freed blocks numpy reuses: trimming
    it would hand them back too."""
    import pyarrow as pa

    pool = pa.default_memory_pool()
    if pool.backend_name != "system":
        pool.release_unused()


def dictionary(table, name: str) -> tuple[list[str], np.ndarray]:
    """A dictionary-encoded column as (distinct values, int32 code per row)."""
    import pyarrow as pa

    col = table.column(name)
    if col.num_chunks == 0 or len(col) == 0:
        return [], np.zeros(0, np.int32)
    col = col.unify_dictionaries()
    values = col.chunk(0).dictionary.to_pylist()
    return values, np.ascontiguousarray(chunks_to_numpy(pa.chunked_array([c.indices for c in col.chunks])),
                                        dtype=np.int32)


def chunks_to_numpy(column, out: np.ndarray | None = None) -> np.ndarray:
    """A chunked Arrow column as one numpy array (nulls of a float column as NaN), chunk by chunk
    into ``out`` when given (a column of a label matrix). ``ChunkedArray.to_numpy`` goes through
    pyarrow's pandas conversion: 3 s and 1.4 GB for the first 20 M-row column, against 0.02 s."""
    out = np.empty(len(column), column.type.to_pandas_dtype()) if out is None else out
    at = 0
    with np.errstate(over="ignore"):  # a float32 ``out``: a number beyond its range is inf, for the caller to find
        for chunk in column.chunks:
            out[at:at + len(chunk)] = chunk_to_numpy(chunk)
            at += len(chunk)
    return out


def chunk_to_numpy(chunk) -> np.ndarray:
    """A numeric Arrow array's values read from its buffers, nulls of floats as NaN. ``to_numpy``
    would import pandas first (0.3 s of a command that never uses it); booleans (bits) and integers
    with nulls still take it."""
    dtype = np.dtype(chunk.type.to_pandas_dtype())
    floating = dtype.kind == "f"
    if dtype.kind not in "iuf" or (chunk.null_count and not floating):
        return chunk.to_numpy(zero_copy_only=False)
    validity, data = chunk.buffers()[:2]
    start, n = chunk.offset, len(chunk)
    values = np.frombuffer(data, dtype, count=start + n)[start:] if n else np.zeros(0, dtype)
    if chunk.null_count:
        valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")[start:start + n].view(bool)
        values = np.where(valid, values, np.nan)
    return values


def encode_strings(values) -> tuple[list[str], np.ndarray]:
    """Many strings (one per strain) as (distinct values in order of first appearance, int32 code per
    row), by pyarrow's hash table: no Python loop and no string sort over 20 M rows."""
    import pyarrow as pa

    encoded = pa.array(np.asarray(values, dtype=object).reshape(-1), type=pa.string()).dictionary_encode()
    return encoded.dictionary.to_pylist(), np.ascontiguousarray(encoded.indices.to_numpy(zero_copy_only=False),
                                                                dtype=np.int32)


def floats(table, name: str, missing: bool, out: np.ndarray | None = None) -> np.ndarray:
    """A float64 column (written into ``out`` when given); a non-finite number (or, without
    ``missing``, a null) raises :class:`Fallback`, so that the line reader names the cell (a number
    beyond a float32 ``out``'s range is infinite there, and falls back too)."""
    col = table.column(name)
    values = chunks_to_numpy(col, out)
    if len(values) == 0:
        return values
    nulls = col.null_count
    if nulls and not missing:
        raise Fallback("an empty number")
    finite = np.isfinite(values)
    if not finite.all():
        if not nulls:
            raise Fallback("a non-finite number")
        import pyarrow.compute as pc

        valid = chunks_to_numpy(pc.is_valid(col))
        if (~finite & valid).any():
            raise Fallback("a non-finite number")
    return values
