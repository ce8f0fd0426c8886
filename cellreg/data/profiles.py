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


def profile_table(sets: Sequence[Sequence[int]], change: np.ndarray, group: str, features: Sequence[str],
                  gene_names: Sequence[str], kinds: Sequence[Sequence[int]] | None = None) -> PhenotypeTable:
    """A table whose labels are one profile's changes (``<group>:<feature>``)."""
    return PhenotypeTable.from_sets(sets, np.asarray(change, np.float32), profile_labels(group, features),
                                    gene_names, kinds)
