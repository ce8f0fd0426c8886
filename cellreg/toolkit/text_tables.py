"""Reading delimited text without pandas: numbered data lines, delimiter sniffing, columns, numbers.

Every error starts with the file path and names the 1-based line as it is in the file, so a user
can open the file at the right place.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gzip
from pathlib import Path
from typing import Callable, Iterator, Sequence

import attrs
import numpy as np

MISSING = frozenset({"", "na", "nan", "null", "n/a"})
"""Label cells read as NaN (compared lower-cased, whitespace stripped)."""

Row = tuple[int, list[str]]


def sniff_delimiter(line: str) -> str:
    """Tab if the line has one, else comma, else runs of whitespace (``" "``)."""
    if "\t" in line:
        return "\t"
    if "," in line:
        return ","
    return " "


def splitter(delimiter: str) -> Callable[[str], list[str]]:
    """``" "`` splits on runs of whitespace (STRING files); others split exactly, honouring quotes."""
    if delimiter == " ":
        return str.split
    if delimiter == "\t":
        return lambda line: line.split("\t")

    def split(line: str) -> list[str]:
        if '"' not in line:
            return line.split(delimiter)
        return next(csv.reader([line], delimiter=delimiter))

    return split


@attrs.define
class TextTable:
    """An open file: its first data line (a header candidate) and an iterator over the rest."""

    path: Path
    delimiter: str
    first: Row | None
    rows: Iterator[Row]
    comment_before_first: str | None  # the comment line just above ``first`` (BioGRID's header starts with '#')


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


@contextlib.contextmanager
def read_table(path: Path, delimiter: str, comment: str) -> Iterator[TextTable]:
    """Open ``path`` (``.gz`` too), skipping blank lines and lines starting with ``comment``."""
    try:
        f = _open_text(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot open: {exc.strerror or exc}") from None
    with f:
        state = {"comment": None}

        def lines() -> Iterator[tuple[int, str]]:
            n = 0
            try:
                for n, line in enumerate(f, 1):
                    line = line.rstrip("\r\n")
                    if not line.strip():
                        continue
                    if comment and line.lstrip().startswith(comment):
                        state["comment"] = line
                        continue
                    yield n, line
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}: line {n + 1}: not UTF-8 text ({exc.reason})") from None
            except OSError as exc:  # e.g. a .gz file that is not gzip
                raise ValueError(f"{path}: cannot read: {exc}") from None

        numbered = lines()
        first = next(numbered, None)
        delim = delimiter if delimiter != "auto" else sniff_delimiter(first[1] if first else "")
        split = splitter(delim)
        rows = ((n, split(line)) for n, line in numbered)
        before = state["comment"] if first is not None else None
        yield TextTable(path, delim, None if first is None else (first[0], split(first[1])), rows, before)


def column_index(column: int | str, header: Sequence[str] | None, table: TextTable, option: str) -> int:
    """Resolve a configured column (index or header name); a missing name lists the columns."""
    if isinstance(column, int):
        return column
    if header is None:
        raise ValueError(f"{table.path}: {option} = {column!r} names a column but the file has no header line")
    names = [h.strip() for h in header]
    if names.count(column) > 1:
        where = [i for i, h in enumerate(names) if h == column]
        raise ValueError(f"{table.path}: line {table.first[0]}: {option} = {column!r} is ambiguous: columns "
                         f"{', '.join(map(str, where))} (counted from 0) of the header are all named {column!r}; "
                         "rename them, or give the column by index")
    if column in names:
        return names.index(column)
    msg = f"{table.path}: no column {column!r} ({option}); columns are: {', '.join(map(repr, names))}"
    hint = table.comment_before_first
    if hint is not None and column in hint:
        msg += (f"; the line above the header starts with the comment marker ({hint[:40]!r}...): "
                f"set comment = \"\" if that line is the header")
    raise ValueError(msg)


def check_header(table: TextTable, header: Sequence[str]) -> None:
    """Every column of a header must have a name of its own: a repeated name would be read from its
    first column only, an empty one (often a trailing delimiter) would become a label named ''."""
    line = table.first[0]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            trailing = " (a delimiter at the end of the line?)" if i == len(header) - 1 else ""
            raise ValueError(f"{table.path}: line {line}: column {i} (counted from 0) of the header has no name"
                             f"{trailing}; every column needs a name (delimiter {table.delimiter!r})")
        if name in seen:
            raise ValueError(f"{table.path}: line {line}: column name {name!r} is repeated (columns {seen[name]} "
                             f"and {i}, counted from 0); column names must be unique")
        seen[name] = i


def short_row(table: TextTable, line: int, cells: list[str], need: int) -> ValueError:
    return ValueError(f"{table.path}: line {line} has {len(cells)} field(s), expected at least {need} "
                      f"(delimiter {table.delimiter!r})")


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_floats(cells: list[str], lines: np.ndarray, path: Path, column: str, missing_ok: bool) -> np.ndarray:
    """Cells to float64 in one numpy cast; on failure, find the first bad cell for the message.

    With ``missing_ok`` the :data:`MISSING` markers become NaN; otherwise every cell must be a
    finite number.
    """
    arr = np.asarray(cells, dtype=str)
    missing = np.zeros(len(arr), dtype=bool)
    if missing_ok and len(arr):
        missing = np.isin(np.char.lower(np.char.strip(arr)), list(MISSING))
        arr = np.where(missing, "nan", arr)
    try:
        out = arr.astype(np.float64)
    except ValueError:
        out = None
    if out is not None:
        bad = ~np.isfinite(out) & ~missing
        if not bad.any():
            return out
        i = int(np.argmax(bad))
    else:
        i = next(i for i, c in enumerate(cells) if not (missing[i] or is_number(c)))
    what = "a finite number" if out is not None else "a number"
    extra = f" (missing values may be written as {', '.join(sorted(m for m in MISSING if m))} or left empty)" \
        if missing_ok else ""
    raise ValueError(f"{path}: line {int(lines[i])}, column {column}: expected {what}, got {cells[i]!r}{extra}")


def unknown_genes_message(path: Path, names: Sequence[str], lines: Sequence[int], where: Sequence[str],
                          vocabulary: str, known: Sequence[str] = ()) -> str:
    """``N unknown gene names on M lines`` plus the first occurrence of up to 5 of them, each with a
    did-you-mean from ``known`` where one is close (another case, a typo)."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        first.setdefault(name, i)
    examples = ", ".join(f"{n!r} (line {lines[i]}{where[i]}{suggest(n, known)})" for n, i in list(first.items())[:5])
    n, m = len(first), len(set(lines))
    return (f"{path}: {n} unknown gene name{'s' * (n != 1)} on {m} line{'s' * (m != 1)} "
            f"(not in {vocabulary}), e.g. {examples}")


def suggest(name: str, known: Sequence[str]) -> str:
    """``"; did you mean 'X'?"`` for the name in ``known`` that differs only in case, else the closest
    spelling; "" when nothing is close."""
    if not known:
        return ""
    folded = {k.casefold(): k for k in known}
    match = folded.get(name.casefold())
    if match is None:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        match = close[0] if close else None
    return f"; did you mean {match!r}?" if match is not None else ""


def _check_delimiter(_inst, attribute, value: str) -> None:
    if value != "auto" and len(value) != 1:
        raise ValueError(f"'{attribute.name}' must be \"auto\" or one character (\"\\t\", \",\", \" \", \";\"), "
                         f"got {value!r}")


def delimiter_field():
    """An attrs field for a delimiter option: \"auto\" (sniffed) or one character."""
    return attrs.field(default="auto", validator=_check_delimiter)


def not_empty(_inst, attribute, value) -> None:
    if not value:
        raise ValueError(f"'{attribute.name}' must not be empty")
