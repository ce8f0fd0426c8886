"""What training saw: the set sizes and perturbation kinds of the training rows, recorded in the run.

A model trained on deletion pairs has never trained its overexpression embedding nor seen a
triple: its numbers for them come from untrained parameters. ``cellreg predict`` warns on strains
outside what training saw; ``cellreg screen`` refuses such designs unless ``--allow-unseen``.
"""

from __future__ import annotations

from typing import Iterable

import attrs
import numpy as np

from cellreg.data.phenotypes import Perturbation, PhenotypeTable


@attrs.frozen
class Coverage:
    sizes: tuple[int, ...]  # genes per strain, as trained on
    kinds: tuple[str, ...]  # Perturbation names (lower case), as trained on

    @classmethod
    def of(cls, table: PhenotypeTable, rows: np.ndarray) -> "Coverage":
        rows = np.asarray(rows, np.int64)
        sizes = np.unique(table.set_sizes[rows])
        entries = np.repeat(table.offsets[rows], table.set_sizes[rows]) + _within(table.set_sizes[rows])
        kinds = np.unique(table.kinds[entries])
        return cls(tuple(int(s) for s in sizes), tuple(Perturbation(int(k)).name.lower() for k in kinds))

    def to_dict(self) -> dict:
        return {"sizes": list(self.sizes), "kinds": list(self.kinds)}

    @classmethod
    def from_dict(cls, raw: dict) -> "Coverage | None":
        """None for a run recorded before coverage existed (nothing to check against)."""
        return cls(tuple(raw["sizes"]), tuple(raw["kinds"])) if raw else None

    def outside(self, sizes: Iterable[int], kinds: Iterable[int]) -> list[str]:
        """What of ``sizes`` / ``kinds`` (Perturbation codes) training never saw, described."""
        new_sizes = sorted({int(s) for s in sizes} - set(self.sizes))
        new_kinds = sorted({Perturbation(int(k)).name.lower() for k in kinds} - set(self.kinds))
        out = []
        if new_sizes:
            out.append(f"{_plural(new_sizes, 'set size')} {', '.join(map(str, new_sizes))} (trained on "
                       f"{', '.join(map(str, self.sizes))} genes per strain)")
        if new_kinds:
            out.append(f"{_plural(new_kinds, 'kind')} {', '.join(new_kinds)} (trained on {', '.join(self.kinds)}: the "
                       "embedding of an unseen kind never trained)")
        return out

    def unseen_strains(self, table: PhenotypeTable) -> np.ndarray:
        """[S] bool: strains of a size or with a kind training never saw."""
        sizes = table.set_sizes
        bad = ~np.isin(sizes, self.sizes)
        seen = [int(Perturbation[k.upper()]) for k in self.kinds]
        bad_entry = ~np.isin(table.kinds, seen)
        bad |= np.bincount(table.strain_of_entry[bad_entry], minlength=table.num_strains) > 0
        return bad

    def warning(self, table: PhenotypeTable, what: str) -> str | None:
        """A line for the strains of ``table`` outside coverage, or None when there are none."""
        bad = self.unseen_strains(table)
        if not bad.any():
            return None
        sub = table.select(np.flatnonzero(bad))
        return (f"{what}: {int(bad.sum()):,} of {table.num_strains:,} strains are outside what training saw: "
                f"{'; '.join(self.outside(sub.set_sizes, sub.kinds))}; their predictions extrapolate")


def _within(sizes: np.ndarray) -> np.ndarray:
    """0, 1, ..., size - 1 for each set, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def _plural(items, word: str) -> str:
    return word + ("s" if len(items) > 1 else "")
