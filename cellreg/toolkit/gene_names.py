"""Gene names as a file spells them -> a vocabulary's genes, optionally through an alias file.

Without aliases a name must be spelled as in the vocabulary (today's rule). With an alias file
(:func:`cellreg.toolkit.gene_list.read_aliases`: a name, then the vocabulary's name for it),
matching is case-insensitive: a name is looked up as it is, then as an alias, then by case alone,
the last only where a single vocabulary gene has that spelling (Drosophila's ``Dl`` and ``dl`` are
two genes: ``DL`` is neither).
Names are resolved once per distinct name, never per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


class GeneNames:
    """Resolve names to vocabulary indices (-1 for unknown); :attr:`known` is what suggestions draw on."""

    def __init__(self, vocabulary: Sequence[str], aliases: dict[str, str] | None = None):
        self.vocabulary = tuple(vocabulary)
        self._index = {g: i for i, g in enumerate(self.vocabulary)}
        self.aliases = aliases
        self._folded: dict[str, int] = {}
        self._alias: dict[str, str] = {}
        if aliases is not None:  # by case alone only where one vocabulary name has that spelling
            spellings: dict[str, list[int]] = {}
            for i, g in enumerate(self.vocabulary):
                spellings.setdefault(g.casefold(), []).append(i)
            self._folded = {k: v[0] for k, v in spellings.items() if len(v) == 1}
            self._alias = {a.casefold(): g for a, g in aliases.items()}

    @classmethod
    def from_file(cls, vocabulary: Sequence[str], aliases: Path | None) -> "GeneNames":
        from cellreg.toolkit.gene_list import read_aliases

        return cls(vocabulary, read_aliases(aliases) if aliases is not None else None)

    @property
    def known(self) -> Sequence[str]:
        return self.vocabulary + tuple(self.aliases) if self.aliases else self.vocabulary

    def canonical(self, name: str) -> str:
        """The name an alias stands for (case-insensitive), else the name itself."""
        if name in self._index or not self._alias:
            return name
        return self._alias.get(name.casefold(), name)

    def one(self, name: str) -> int:
        i = self._index.get(name)
        if i is not None or self.aliases is None:
            return -1 if i is None else i
        target = self._alias.get(name.casefold())
        if target is not None:
            i = self._index.get(target, self._folded.get(target.casefold()))
            if i is not None:
                return i
        return self._folded.get(name.casefold(), -1)

    def __contains__(self, name: str) -> bool:
        return self.one(name) >= 0

    def lookup(self, names: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.one(n) for n in names), dtype=np.int64, count=len(names))
