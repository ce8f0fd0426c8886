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


def as_profile(table: PhenotypeTable, group: str, unit: str = "") -> PhenotypeTable:
    """``table`` with all its labels declared as one profile group (scored by the profile metrics)."""
    return attrs.evolve(table, label_groups=(LabelGroup(group, table.label_names, GroupKind.PROFILE, unit),))


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
