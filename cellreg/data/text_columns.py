"""Per-strain text columns (a table's tags: a condition, a published split) kept as codes.

A 20 M-strain table's ``Arraytype/Temp`` is four distinct strings: as codes it is 80 MB of int32,
selected, cached and hashed at memory speed; as strings it is 20 M object pointers, and hashing
it means encoding them again (0.8 s at 20 M rows). A column is kept in the form it was given and
the other form made when first asked for.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import attrs
import numpy as np

from cellreg.data.handed_over import is_immutable


@attrs.define
class Category:
    """A text column as distinct ``values`` plus a code per row (the reader strips the cells)."""

    values: list[str]
    codes: np.ndarray

    @classmethod
    def from_strings(cls, strings) -> "Category":
        from cellreg.toolkit.columnar import encode_strings

        return cls(*encode_strings(strings))

    def take(self, rows: np.ndarray) -> "Category":
        return Category(self.values, self.codes[rows])

    def strings(self) -> np.ndarray:
        return np.asarray(self.values, dtype=object)[self.codes] if len(self.codes) else np.zeros(0, object)

    def canonical(self) -> tuple[list[str], np.ndarray]:
        """The values some row holds, sorted, and each row's code among them: one form for one
        column of strings, whatever order or unused values the codes came with (what a hash reads)."""
        from cellreg.toolkit.parallel_index import marked, take

        used = np.flatnonzero(marked(self.codes, len(self.values)))
        order = sorted(used.tolist(), key=self.values.__getitem__)
        remap = np.full(len(self.values), -1, np.int32)
        remap[order] = np.arange(len(order), dtype=np.int32)
        return [self.values[i] for i in order], take(remap, self.codes)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class TextColumns(Mapping[str, np.ndarray]):
    """Columns by name; ``columns[name]`` is a read-only object array of strings, and
    :meth:`category` the same column as codes. Built from either form."""

    def __init__(self, columns: Mapping[str, Category | Sequence[str] | np.ndarray] | None = None):
        self._strings: dict[str, np.ndarray] = {}
        self._categories: dict[str, Category] = {}
        for name, column in dict(columns or {}).items():
            if isinstance(column, Category):  # a reader's codes handed over are taken as they are
                codes = column.codes if is_immutable(column.codes, np.int32) else \
                    _frozen(np.array(column.codes, np.int32, copy=True))
                self._categories[str(name)] = Category(list(column.values), codes)
            else:
                self._strings[str(name)] = _frozen(np.array(column, dtype=object, copy=True).reshape(-1))
        self._names = [str(name) for name in dict(columns or {})]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._strings:
            self._strings[name] = _frozen(self._categories[name].strings())  # KeyError for an unknown name
        return self._strings[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def rows(self, name: str) -> int:
        """The column's length, without making strings of codes."""
        return len(self._categories[name].codes) if name in self._categories else len(self._strings[name])

    def category(self, name: str) -> Category:
        if name not in self._categories:
            self._categories[name] = Category.from_strings(self._strings[name])
        return self._categories[name]

    def select(self, rows: np.ndarray) -> "TextColumns":
        """The rows ``rows`` of every column, each kept in the form it has."""
        return TextColumns({name: self._categories[name].take(rows) if name in self._categories
                            else self._strings[name][rows] for name in self._names})
