"""Vector phenotypes (expression, morphology): a profile per strain, stored as its change from the
reference profile.

A profile of F features is F label columns of one :class:`~cellreg.data.phenotypes.PhenotypeTable`,
named ``<group>:<feature>``, each holding the strain's value minus the reference's (the control
cells' mean, the wild-type rows' mean, or 0 where the file holds log ratios already). So the label
scaler standardizes each feature on training rows (the model learns in standardized feature units)
and every reported number is inverted back to raw units of change; adding ``reference`` gives the
raw profile. NaN = a feature not measured for that strain: masked by the losses, counted by the
readers, never learned.
"""

from __future__ import annotations

from typing import Sequence

import attrs
import numpy as np

from cellreg.data.label_groups import GroupKind, LabelGroup, group_columns
from cellreg.data.phenotypes import PhenotypeTable

SEPARATOR = ":"


def profile_labels(group: str, features: Sequence[str]) -> tuple[str, ...]:
    """The label names of a profile's features."""
    return tuple(f"{group}{SEPARATOR}{f}" for f in features)


def duplicate_names(names: Sequence[str]) -> list[str]:
    """Names that occur more than once (each listed once, first occurrence order)."""
    values, first, counts = np.unique(np.asarray(names, dtype=object).astype(str), return_index=True,
                                      return_counts=True)
    return [str(values[i]) for i in np.argsort(first) if counts[i] > 1]


@attrs.frozen(eq=False)
class Profiles:
    """What a profile reader returns before genes are indexed: one strain per row of ``change``.

    ``strains``: each strain's gene names; ``change`` [S, F] float32 in raw units (NaN = not
    measured); ``reference`` [F] the raw profile the change is taken from (zeros when the file holds
    changes already); ``nan_count``: the measurements that were NaN in the file (masked).
    """

    strains: tuple[tuple[str, ...], ...] = attrs.field(converter=lambda v: tuple(tuple(s) for s in v))
    change: np.ndarray
    features: tuple[str, ...] = attrs.field(converter=tuple)
    reference: np.ndarray
    nan_count: int = 0

    def __attrs_post_init__(self) -> None:
        s, f = len(self.strains), len(self.features)
        if self.change.shape != (s, f):
            raise ValueError(f"profile change must be [{s} strains, {f} features], got {list(self.change.shape)}")
        if self.reference.shape != (f,):
            raise ValueError(f"profile reference must have {f} values, got {list(self.reference.shape)}")


def profile_group(group: str, label_names: Sequence[str], unit: str = "") -> LabelGroup:
    """The label group of one profile (scored by :mod:`cellreg.training.profile_metrics`)."""
    return LabelGroup(group, tuple(label_names), GroupKind.PROFILE, unit)


def as_profile(table: PhenotypeTable, group: str, unit: str = "") -> PhenotypeTable:
    """``table`` with all its labels declared as one profile group."""
    return attrs.evolve(table, label_groups=(profile_group(group, table.label_names, unit),))


def profile_table(sets: Sequence[Sequence[int]], change: np.ndarray, group: str, features: Sequence[str],
                  gene_names: Sequence[str], unit: str = "") -> PhenotypeTable:
    """A table whose labels are one profile's changes (``<group>:<feature>``), declared as its group."""
    table = PhenotypeTable.from_sets(sets, np.asarray(change, np.float32), profile_labels(group, features),
                                     gene_names)
    return as_profile(table, group, unit)


def profile_columns(table: PhenotypeTable) -> np.ndarray:
    """[L] bool: the labels that belong to a profile group (changes from a reference, scaled about 0)."""
    out = np.zeros(len(table.label_names), bool)
    for group, cols in zip(table.label_groups, group_columns(table.label_groups, table.label_names)):
        out[cols] = group.kind == GroupKind.PROFILE
    return out


def read_target(path: str, group: str, label_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """A target profile for ``cellreg screen``: lines ``feature value`` (a header line and ``#``
    comments allowed), changes from the reference in raw units, for features of ``group``.
    Returns (label columns [k], target values [k] float32); a feature the group lacks is an error
    naming the file and line."""
    from cellreg.toolkit.text_tables import suggest

    position = {name: j for j, name in enumerate(label_names)}
    prefix = f"{group}{SEPARATOR}"
    features = [n[len(prefix):] for n in label_names if n.startswith(prefix)]
    if not features:
        groups = sorted({n.split(SEPARATOR, 1)[0] for n in label_names if SEPARATOR in n})
        raise ValueError(f"the run has no profile {group!r}" + (f"; its profiles: {', '.join(groups)}" if groups
                                                                 else "; it predicts no profile"))
    columns, values = [], []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            cells = line.split("#", 1)[0].split()
            if not cells:
                continue
            if len(cells) != 2:
                raise ValueError(f"{path}: line {line_no}: expected 'feature value', got {line.strip()!r}")
            try:
                value = float(cells[1])
            except ValueError:
                if not columns:  # a header line
                    continue
                raise ValueError(f"{path}: line {line_no}: the value {cells[1]!r} is not a number") from None
            if prefix + cells[0] not in position:
                raise ValueError(f"{path}: line {line_no}: {group!r} has no feature {cells[0]!r}"
                                 f"{suggest(cells[0], features)}")
            columns.append(position[prefix + cells[0]])
            values.append(value)
    if not columns:
        raise ValueError(f"{path}: no 'feature value' lines")
    dups = duplicate_names([str(c) for c in columns])
    if dups:
        raise ValueError(f"{path}: feature {label_names[int(dups[0])][len(prefix):]!r} is given more than once")
    return np.asarray(columns, np.int64), np.asarray(values, np.float32)
