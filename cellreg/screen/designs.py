"""Candidate strain designs, enumerated lazily: every design has a rank, and any range of ranks
unranks arithmetically into a block of the designs it names, so no list of designs is ever held,
and each process (or batch) jumps straight to its own slice.

A :class:`DesignSpace` is the designs of the given sizes drawn from a pool of organism genes (each
taking one of the allowed kinds: deletion, knockdown, overexpression) and a pool of genes the
organism never had (kind addition), on top of genes every design includes. It is a list of
uniform *segments*, one per (size, number of added genes): within a segment a rank is a mixed-radix
number (added-gene combination, organism-gene combination, kind of each organism gene), and a
combination's rank is its colexicographic rank, ``r = Σ_i C(c_i, i)`` for ``c_1 < … < c_k``, which
:func:`unrank_combinations` inverts with one ``searchsorted`` per position over the whole block.
"""

from __future__ import annotations

import math
from typing import Iterator, Sequence

import attrs
import numpy as np

from cellreg.data.phenotypes import Perturbation, PhenotypeTable

MAX_DESIGNS = 2**62  # ranks are int64


def binomial_columns(n: int, k: int) -> np.ndarray:
    """``C(c, i)`` for c = 0..n, i = 0..k as int64 [n + 1, k + 1], by the hockey-stick identity
    ``C(c, i) = Σ_{t<c} C(t, i-1)`` (one cumulative sum per column). Callers keep ``C(n, k)`` below
    2^62; an overflowing column is refused."""
    if math.comb(n, min(k, n // 2)) >= 2**63:
        raise ValueError(f"combinations of {k} of {n} genes overflow int64; screen smaller designs")
    table = np.zeros((n + 1, k + 1), np.int64)
    table[:, 0] = 1
    for i in range(1, k + 1):
        table[1:, i] = np.cumsum(table[:-1, i - 1])
    return table


def unrank_combinations(ranks: np.ndarray, k: int, binom: np.ndarray) -> np.ndarray:
    """Colex ranks [B] (each < C(n, k)) -> positions [B, k], increasing along each row: position
    ``i`` is the largest ``c`` with ``C(c, i) <= r``, then ``r -= C(c, i)``, for i = k..1."""
    r = np.array(ranks, dtype=np.int64, copy=True)
    out = np.empty((len(r), k), np.int64)
    for i in range(k, 0, -1):
        c = np.searchsorted(binom[:, i], r, side="right") - 1
        out[:, i - 1] = c
        r -= binom[c, i]
    return out


@attrs.frozen
class Segment:
    """Designs of one size with ``added`` genes from the added pool: ``count`` of them, from rank
    ``start`` on."""

    size: int
    added: int
    start: int
    count: int


class Designs:
    """What the screen scores: ``len`` designs, any range of which comes as a PhenotypeTable."""

    gene_names: tuple[str, ...]

    def __len__(self) -> int:
        raise NotImplementedError

    def take(self, ids: np.ndarray) -> PhenotypeTable:
        """The designs of the given ranks, in that order."""
        raise NotImplementedError

    def block(self, start: int, stop: int) -> PhenotypeTable:
        return self.take(np.arange(start, stop, dtype=np.int64))

    def blocks(self, batch: int, rank: int = 0, world: int = 1, limit: int | None = None
               ) -> Iterator[tuple[int, PhenotypeTable]]:
        """``(first rank, block)`` for batches ``rank, rank + world, …`` of ``batch`` designs: the
        same batches whatever the number of processes, so their scores are bit-identical."""
        total = len(self) if limit is None else min(limit, len(self))
        for b in range(rank, -(-total // batch), world):
            start = b * batch
            yield start, self.block(start, min(start + batch, total))

    def share(self, batch: int, rank: int, world: int, limit: int | None = None) -> int:
        """How many designs process ``rank`` of ``world`` scores."""
        total = len(self) if limit is None else min(limit, len(self))
        full, rest = divmod(total, batch)
        batches = full + (rest > 0)
        mine = len(range(rank, batches, world))
        return mine * batch - (batch - rest if rest and (batches - 1) % world == rank else 0)


class TableDesigns(Designs):
    """An explicit table of designs (``--designs FILE``), in its own order."""

    def __init__(self, table: PhenotypeTable) -> None:
        self.table, self.gene_names = table, table.gene_names

    def __len__(self) -> int:
        return len(self.table)

    def take(self, ids: np.ndarray) -> PhenotypeTable:
        return self.table.select(ids)


class DesignSpace(Designs):
    """Every design of the given ``sizes``: the ``include`` genes (vocabulary index, kind), then
    ``size - len(include)`` genes from the two pools, organism genes taking each of ``kinds``.

    ``organism`` and ``added`` are vocabulary indices (into ``gene_names``); a design lists its
    genes as include, added, organism, each pool in its given order."""

    def __init__(self, gene_names: Sequence[str], organism: Sequence[int], added: Sequence[int] = (),
                 kinds: Sequence[Perturbation] = (Perturbation.DELETION,), sizes: Sequence[int] = (2,),
                 include: Sequence[tuple[int, Perturbation]] = ()) -> None:
        self.gene_names = tuple(gene_names)
        self.organism = np.asarray(organism, np.int64)
        self.added = np.asarray(added, np.int64)
        self.kinds = np.asarray([int(k) for k in kinds], np.int8)
        self.include = [(int(g), int(k)) for g, k in include]
        self.sizes = tuple(sorted(set(sizes)))
        free = [s - len(self.include) for s in self.sizes]
        o, a, m = len(self.organism), len(self.added), len(self.kinds)
        segments, start = [], 0
        for size, k in zip(self.sizes, free):
            for j in range(min(a, k) + 1):
                count = math.comb(a, j) * math.comb(o, k - j) * m ** (k - j)
                if count:
                    segments.append(Segment(size, j, start, count))
                    start += count
        if start >= MAX_DESIGNS:
            raise ValueError(f"{start:,} designs: more than a screen can number (2^62); screen fewer genes or sizes")
        self.segments, self.total = segments, start
        k_max = max(free, default=0)
        self.binom_organism = binomial_columns(o, k_max)
        self.binom_added = binomial_columns(a, min(a, k_max))

    def __len__(self) -> int:
        return self.total

    def take(self, ids: np.ndarray) -> PhenotypeTable:
        """The designs of the given ranks, in that order, as a table (sizes may differ)."""
        ids = np.asarray(ids, np.int64)
        starts = np.array([seg.start for seg in self.segments], np.int64)
        which = np.searchsorted(starts, ids, side="right") - 1
        sizes = np.array([seg.size for seg in self.segments], np.int64)[which] if len(ids) else \
            np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        genes, kinds = np.zeros(offsets[-1], np.int64), np.zeros(offsets[-1], np.int8)
        for s in np.unique(which):  # a loop over segments (sizes), not designs
            rows = np.flatnonzero(which == s)
            seg = self.segments[s]
            g, k = self._segment_block(seg, ids[rows] - seg.start)
            pos = (offsets[rows][:, None] + np.arange(seg.size)).ravel()
            genes[pos], kinds[pos] = g.ravel(), k.ravel()
        return PhenotypeTable(offsets, genes, kinds, np.zeros((len(ids), 0), np.float32), (), self.gene_names)

    def _segment_block(self, seg: Segment, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Local ranks -> (genes [B, size], kinds [B, size])."""
        j, ko, m = seg.added, seg.size - len(self.include) - seg.added, len(self.kinds)
        per_added = math.comb(len(self.organism), ko) * m ** ko
        added_rank, rest = np.divmod(local, per_added)
        organism_rank, kind_rank = np.divmod(rest, m ** ko)
        b = len(local)
        cols_g = [np.full((b, 1), g, np.int64) for g, _ in self.include]
        cols_k = [np.full((b, 1), k, np.int8) for _, k in self.include]
        if j:
            cols_g.append(self.added[unrank_combinations(added_rank, j, self.binom_added)])
            cols_k.append(np.full((b, j), int(Perturbation.ADDITION), np.int8))
        if ko:
            cols_g.append(self.organism[unrank_combinations(organism_rank, ko, self.binom_organism)])
            digits = (kind_rank[:, None] // m ** np.arange(ko, dtype=np.int64)) % m  # base-m digits
            cols_k.append(self.kinds[digits])
        return np.concatenate(cols_g, axis=1), np.concatenate(cols_k, axis=1)
