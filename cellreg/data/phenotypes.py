"""PhenotypeTable: strains as CSR perturbation sets plus a label matrix (NaN = not measured).

A strain is a few gene indices and a type code per gene, so 10^7 strains of up to three genes
with two labels take about 300 MB: ``offsets`` int64, ``genes`` int32, ``kinds`` int8, ``labels``
float32. Saved as a plain ``.npz`` that loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import enum
import threading
import weakref
from concurrent.futures import Future
from pathlib import Path
from typing import Mapping, Sequence

import attrs
import numpy as np

from cellreg.data.environment import Environment
from cellreg.data.handed_over import hand_over, is_immutable  # noqa: F401 (hand_over: the readers' way in)
from cellreg.data.label_groups import LabelGroup, complete_groups, group_columns, groups_from_json, groups_to_json, \
    is_default, restrict_groups
from cellreg.data.text_columns import Category, TextColumns
from cellreg.toolkit.hashing import Hasher


class Perturbation(enum.IntEnum):
    """What was done to a gene in a strain (the per-gene type code)."""

    DELETION = 0
    KNOCKDOWN = 1
    OVEREXPRESSION = 2
    ADDITION = 3

    @classmethod
    def parse(cls, text: str) -> "Perturbation":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            choices = ", ".join(m.name.lower() for m in cls)
            raise ValueError(f"unknown perturbation type {text!r}; choose one of: {choices}") from None


_HASHING = threading.Lock()  # one table hashed at a time: a second asker waits for the first's result
_PENDING: "weakref.WeakKeyDictionary[PhenotypeTable, Future]" = weakref.WeakKeyDictionary()
"""Tables hashing on a thread (:meth:`PhenotypeTable.hash_in_background`), kept off the table itself: a
table goes to spawned data-loader workers by pickle, and a future does not pickle."""


def _frozen_array(dtype):
    def convert(value):
        if is_immutable(value, dtype):  # handed over (a reader's fresh arrays): 20 M rows are not copied
            return value
        a = np.array(value, dtype=dtype, copy=True)
        a.setflags(write=False)
        return a

    return attrs.field(converter=convert, eq=False)


def _tags(value: Mapping[str, Sequence[str] | Category]) -> TextColumns:
    return value if isinstance(value, TextColumns) else TextColumns(value)


@attrs.frozen(eq=False)
class PhenotypeTable:
    """Strain ``s`` perturbs ``genes[offsets[s]:offsets[s+1]]`` with ``kinds`` of the same slice."""

    offsets: np.ndarray = _frozen_array(np.int64)  # [S + 1]
    genes: np.ndarray = _frozen_array(np.int32)  # [nnz], indices into gene_names
    kinds: np.ndarray = _frozen_array(np.int8)  # [nnz], Perturbation codes
    labels: np.ndarray = _frozen_array(np.float32)  # [S, L], NaN = missing
    label_names: tuple[str, ...] = attrs.field(converter=tuple)
    gene_names: tuple[str, ...] = attrs.field(converter=tuple)  # the vocabulary the indices refer to
    # per strain, text a source carries through (a published split column, a condition): name -> [S] str,
    # given as strings or as codes (a Category: what a reader has), kept as given (cellreg.data.text_columns)
    tags: TextColumns = attrs.field(factory=TextColumns, converter=_tags, eq=False)
    # what each strain was grown under (cellreg.data.environment); a strain is its set plus this
    environment: Environment = attrs.field(factory=Environment, eq=False)
    # how the labels belong together (cellreg.data.label_groups); completed to cover every label,
    # one scalar group per label not declared in one
    label_groups: tuple[LabelGroup, ...] = attrs.field(default=(), converter=tuple, eq=False)
    _fingerprint: str | None = attrs.field(default=None, init=False, eq=False, repr=False)  # once computed
    _sizes: np.ndarray = attrs.field(default=None, init=False, eq=False, repr=False)  # [S], from the offsets
    _memo: dict = attrs.field(factory=dict, init=False, eq=False, repr=False)  # what a pass over it found, once
    _set_keys: np.ndarray | None = attrs.field(default=None, init=False, eq=False, repr=False)  # a reader's, set_keys

    def __attrs_post_init__(self) -> None:
        s = len(self.offsets) - 1
        sizes = np.diff(self.offsets)  # once: the splits, reports and selections each ask for it
        sizes.setflags(write=False)
        object.__setattr__(self, "_sizes", sizes)
        if s < 0 or self.offsets[0] != 0 or np.any(sizes < 0):
            raise ValueError("offsets must start at 0 and never decrease")
        if self.offsets[-1] != len(self.genes) or len(self.kinds) != len(self.genes):
            raise ValueError(f"offsets end at {self.offsets[-1]} but there are {len(self.genes)} genes "
                             f"and {len(self.kinds)} kinds")
        if self.labels.ndim != 2 or self.labels.shape != (s, len(self.label_names)):
            raise ValueError(f"labels must be [{s}, {len(self.label_names)}], got {list(self.labels.shape)}")
        if len(self.genes) and (self.genes.min() < 0 or self.genes.max() >= len(self.gene_names)):
            raise ValueError("gene index outside the vocabulary")
        for name in self.tags:
            if self.tags.rows(name) != s:
                raise ValueError(f"tag {name!r} has {self.tags.rows(name)} values for {s} strains")
        object.__setattr__(self, "label_groups", complete_groups(self.label_groups, self.label_names))
        if self.environment and len(self.environment.columns[0].codes) != s:
            raise ValueError(f"the environment has {len(self.environment.columns[0].codes)} rows for {s} strains")

    @classmethod
    def from_sets(
        cls,
        sets: Sequence[Sequence[int]],
        labels: np.ndarray,
        label_names: Sequence[str],
        gene_names: Sequence[str],
        kinds: Sequence[Sequence[int]] | None = None,
    ) -> "PhenotypeTable":
        """Convenience constructor from Python lists (small tables, tests); deletions by default."""
        sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        genes = np.fromiter((g for s in sets for g in s), dtype=np.int32, count=int(offsets[-1]))
        if kinds is None:
            k = np.zeros(len(genes), dtype=np.int8)
        else:
            k = np.fromiter((c for s in kinds for c in s), dtype=np.int8, count=int(offsets[-1]))
        return cls(offsets, genes, k, np.asarray(labels, np.float32).reshape(len(sets), -1),
                   label_names, gene_names)

    @property
    def num_strains(self) -> int:
        return len(self.offsets) - 1

    def __len__(self) -> int:
        return self.num_strains

    @property
    def set_sizes(self) -> np.ndarray:
        return self._sizes

    def set_keys(self) -> np.ndarray | None:
        """[S] int64: each strain's exact set key over the vocabulary
        (:func:`~cellreg.data.replicates.exact_set_keys`), None where the digits do not fit: the keys a
        reader that merged replicates handed over (:meth:`known_set_keys`), else computed now (not
        kept: 140 MB at 20 M strains)."""
        if self._set_keys is not None:
            return self._set_keys
        from cellreg.data.replicates import exact_set_keys

        return exact_set_keys(self.genes, self.kinds, self.set_sizes, [], len(self.gene_names))

    def known_set_keys(self, keys: np.ndarray) -> "PhenotypeTable":
        """This table, its :meth:`set_keys` given (the replicate merge computed them: 0.3 s at 17 M strains)."""
        if keys.shape != (self.num_strains,):
            raise ValueError(f"set keys must be one per strain ({self.num_strains}), got {keys.shape}")
        keys.setflags(write=False)
        object.__setattr__(self, "_set_keys", keys)
        return self

    def _once(self, name: str, compute) -> np.ndarray:
        """``compute()``, kept read-only for the next asker (the table never changes)."""
        if name not in self._memo:
            value = compute()
            value.setflags(write=False)
            self._memo[name] = value
        return self._memo[name]

    def used_genes(self) -> np.ndarray:
        """[genes] bool: which of the vocabulary some strain perturbs (once: inspect's report and the
        leak report's random sets both ask)."""
        from cellreg.toolkit.parallel_index import marked

        return self._once("used", lambda: marked(self.genes, len(self.gene_names)))

    def size_counts(self) -> np.ndarray:
        """[largest size + 1] int64: strains of each set size (a count per size, once: 0.1 s at 17 M
        strains, and the summary and inspect's split table both ask)."""
        return self._once("size_counts", lambda: np.bincount(self.set_sizes))

    @property
    def strain_of_entry(self) -> np.ndarray:
        """For each CSR entry, the strain it belongs to ([nnz] int64)."""
        return np.repeat(np.arange(self.num_strains), self.set_sizes)

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.genes.nbytes + self.kinds.nbytes + self.labels.nbytes

    def strain(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.offsets[s], self.offsets[s + 1]
        return self.genes[a:b], self.kinds[a:b]

    def label_index(self, name: str) -> int:
        try:
            return self.label_names.index(name)
        except ValueError:
            raise KeyError(f"no label {name!r}; labels are: {', '.join(self.label_names)}") from None

    def with_labels(self, names: Sequence[str]) -> "PhenotypeTable":
        """The same strains with only the labels ``names``, in that order; groups keep their labels among them."""
        idx = [self.label_index(n) for n in names]
        return attrs.evolve(self, labels=self.labels[:, idx], label_names=tuple(names),
                            label_groups=restrict_groups(self.label_groups, names))

    def select(self, rows: np.ndarray) -> "PhenotypeTable":
        """A new table with the given strains, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, sizes = self.offsets[rows], self.set_sizes[rows]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        pos = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1])
        return PhenotypeTable(offsets, self.genes[pos], self.kinds[pos], self.labels[rows],
                              self.label_names, self.gene_names, self.tags.select(rows),
                              self.environment.select(rows), label_groups=self.label_groups)

    def fingerprint(self) -> str:
        """A hash of the content (hashing 20 M strains takes a second: computed once per table; a
        second thread asking meanwhile waits for the first)."""
        if self._fingerprint is None:
            pending = _PENDING.get(self)
            if pending is not None:
                return pending.result()
            with _HASHING:
                if self._fingerprint is None:
                    object.__setattr__(self, "_fingerprint", self._content_hash())
        return self._fingerprint

    def hash_in_background(self) -> None:
        """Start hashing on a thread (a reader with a large table it just made): :meth:`fingerprint`
        then waits for that thread's result, and the split and the reports are made meanwhile
        (:meth:`fingerprint_later`)."""
        if self._fingerprint is None and self not in _PENDING:
            from cellreg.toolkit.parallel_index import beside

            def work() -> str:
                with _HASHING:
                    object.__setattr__(self, "_fingerprint", self._content_hash())
                return self._fingerprint

            _PENDING[self] = beside(work, "cellreg-fingerprint")  # an error goes to the asker

    def fingerprint_later(self) -> Future:
        """:meth:`fingerprint` as a future: the thread's while it hashes, else done now."""
        pending = _PENDING.get(self)
        if pending is not None:
            return pending
        done: Future = Future()
        done.set_result(self.fingerprint())
        return done

    @property
    def fingerprint_pending(self) -> bool:
        """Whether the fingerprint is being hashed on a thread (:meth:`hash_in_background`)."""
        pending = _PENDING.get(self)
        return pending is not None and not pending.done()

    def known_fingerprint(self, fingerprint: str) -> "PhenotypeTable":
        """This table, its fingerprint given: a cache entry keyed by the table's inputs stores it."""
        object.__setattr__(self, "_fingerprint", fingerprint)
        return self

    def _content_hash(self) -> str:
        h = Hasher()
        for a in (self.offsets, self.genes, self.kinds, self.labels):
            h.update_array(a)
        h.update_strings(self.label_names)
        h.update_strings(["|"])
        h.update_strings(self.gene_names)
        for name in sorted(self.tags):  # none for most tables: their fingerprint is unchanged
            values, codes = self.tags.category(name).canonical()
            h.update_strings(["|tag", name, "|column", *values])
            h.update_array(codes)
        self.environment.update(h)  # nothing for a table without one: its fingerprint is unchanged
        if not is_default(self.label_groups, self.label_names):  # declared groups only: old fingerprints hold
            h.update_strings(["|groups", groups_to_json(self.label_groups)])
        return h.hexdigest()

    def save(self, path: str | Path) -> None:
        np.savez(
            path, offsets=self.offsets, genes=self.genes, kinds=self.kinds, labels=self.labels,
            label_names=np.array(self.label_names, dtype=str), gene_names=np.array(self.gene_names, dtype=str),
            **{f"tag:{k}": v.astype(str) for k, v in self.tags.items()}, **self.environment.to_arrays(),
            **({} if is_default(self.label_groups, self.label_names)
               else {"label_groups": np.array(groups_to_json(self.label_groups))}),
        )

    @classmethod
    def load(cls, path: str | Path) -> "PhenotypeTable":
        with np.load(path, allow_pickle=False) as z:
            tags = {k[len("tag:"):]: z[k].astype(object) for k in z.files if k.startswith("tag:")}
            return cls(z["offsets"], z["genes"], z["kinds"], z["labels"],
                       z["label_names"].tolist(), z["gene_names"].tolist(), tags,
                       Environment.from_arrays(z, z.files),
                       label_groups=groups_from_json(str(z["label_groups"])) if "label_groups" in z.files else ())

    def measured(self) -> np.ndarray:
        """[labels] int64: the strains that measured each label (a column at a time: counting a
        20 M x 3 mask along its rows took 0.27 s, column by column 0.06 s; once)."""
        return self._once("measured", lambda: np.array(
            [len(self.labels) - np.count_nonzero(np.isnan(self.labels[:, j])) for j in range(self.labels.shape[1])],
            np.int64))

    def summary(self) -> str:
        sizes = self.size_counts()
        by_size = ", ".join(f"{n:,} of size {k}" for k, n in enumerate(sizes) if n)
        counts = self.measured()  # per label group below
        measured = ", ".join(f"{g.name} {int(counts[c].sum()):,}" + (f" ({len(c):,} labels)" if len(c) > 1 else "")
                             for g, c in zip(self.label_groups, group_columns(self.label_groups, self.label_names)))
        env = f"; environment: {', '.join(self.environment.names)}" if self.environment else ""
        return f"PhenotypeTable: {self.num_strains:,} strains ({by_size}); measured: {measured}{env}"
