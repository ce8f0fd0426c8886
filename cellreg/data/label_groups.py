"""Label groups: how a table's label columns belong together.

A group is what metrics, ``train.select`` (``val.<group>.<metric>``), plots, ``cellreg compare``,
the trackers and ``cellreg screen`` objectives talk about. A scalar label is a group of one (every
table without declared groups has one such group per label, named as its label); a profile (an
expression or morphology vector) is one group of many feature columns. A group's kind decides how
it is scored (:mod:`cellreg.training.group_metrics` holds one scorer per kind).

Groups name their labels, so they survive a selection of labels (``train.labels``); a table keeps
them complete: every label belongs to exactly one group, in the order of its first column.
"""

from __future__ import annotations

import enum
import json
from typing import Iterable, Literal, Sequence

import attrs
import numpy as np


class GroupKind(str, enum.Enum):
    """What a group's columns are: separate scalar labels, or the features of one vector phenotype."""

    SCALAR = "scalar"
    PROFILE = "profile"


@attrs.frozen
class LabelGroup:
    """``name``: how metrics and ``train.select`` call it; ``labels``: the label columns it spans, by
    name; ``kind``: how it is scored; ``unit``: its raw unit, for axes and reports ("" when unknown)."""

    name: str
    labels: tuple[str, ...] = attrs.field(converter=tuple)
    kind: GroupKind = attrs.field(default=GroupKind.SCALAR, converter=GroupKind)
    unit: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.name or "." in self.name:
            raise ValueError(f"label group {self.name!r}: a name must be non-empty and hold no '.' "
                             "(train.select reads val.<group>.<metric>)")
        if not self.labels:
            raise ValueError(f"label group {self.name!r} spans no labels")

    def to_dict(self) -> dict:
        return {"name": self.name, "labels": list(self.labels), "kind": self.kind.value, "unit": self.unit}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelGroup":
        return cls(d["name"], d["labels"], d.get("kind", "scalar"), d.get("unit", ""))


@attrs.frozen
class GroupSpec:
    """A ``[[phenotypes.groups]]`` table: labels a table source declares one group (its fields as
    :class:`LabelGroup`'s)."""

    name: str
    labels: list[str]
    kind: Literal["scalar", "profile"] = "scalar"
    unit: str = ""

    def __attrs_post_init__(self) -> None:
        self.group()  # a bad name or no labels fails with the config

    def group(self) -> LabelGroup:
        return LabelGroup(self.name, self.labels, self.kind, self.unit)


def scalar_groups(label_names: Iterable[str]) -> tuple[LabelGroup, ...]:
    """The default: one scalar group per label, named as the label."""
    return tuple(LabelGroup(name, (name,)) for name in label_names)


def complete_groups(declared: Sequence[LabelGroup], label_names: Sequence[str]) -> tuple[LabelGroup, ...]:
    """``declared`` plus a scalar group for every label they leave out, ordered by first column;
    a label in two groups, a group naming a label the table lacks, or two groups of one name is a
    ValueError naming them."""
    position = {name: j for j, name in enumerate(label_names)}
    owner: dict[str, str] = {}
    for group in declared:
        missing = [n for n in group.labels if n not in position]
        if missing:
            raise ValueError(f"label group {group.name!r} names label(s) the table lacks: "
                             f"{', '.join(map(repr, missing[:5]))}")
        for n in group.labels:
            if n in owner:
                raise ValueError(f"label {n!r} is in two label groups: {owner[n]!r} and {group.name!r}")
            owner[n] = group.name
    groups = list(declared) + [LabelGroup(n, (n,)) for n in label_names if n not in owner]
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two label groups are named {twice!r} (a label left out of every group is a group "
                         "of its own name)")
    for g in groups:  # `val.<name>.<metric>` must mean one thing
        if g.name in position and g.labels != (g.name,) and owner.get(g.name, g.name) != g.name:
            raise ValueError(f"label group {g.name!r} has the name of a label in group {owner[g.name]!r}")
    return tuple(sorted(groups, key=lambda g: min(position[n] for n in g.labels)))


def restrict_groups(groups: Sequence[LabelGroup], keep: Sequence[str]) -> tuple[LabelGroup, ...]:
    """The groups over a subset of the labels: each keeps its labels in ``keep``; an emptied one goes."""
    kept = set(keep)
    out = []
    for g in groups:
        labels = tuple(n for n in g.labels if n in kept)
        if labels:
            out.append(attrs.evolve(g, labels=labels))
    return tuple(out)


def is_default(groups: Sequence[LabelGroup], label_names: Sequence[str]) -> bool:
    """One scalar group per label, named as it (what a table without declared groups has)."""
    return tuple(groups) == scalar_groups(label_names)


def group_columns(groups: Sequence[LabelGroup], label_names: Sequence[str]) -> list[np.ndarray]:
    """Each group's label columns, as indices into ``label_names``."""
    position = {name: j for j, name in enumerate(label_names)}
    return [np.fromiter((position[n] for n in g.labels), np.int64, len(g.labels)) for g in groups]


def groups_to_json(groups: Sequence[LabelGroup]) -> str:
    return json.dumps([g.to_dict() for g in groups])


def groups_from_json(text: str) -> tuple[LabelGroup, ...]:
    return tuple(LabelGroup.from_dict(d) for d in json.loads(text))


def find_group(name: str, groups: Sequence[LabelGroup]) -> LabelGroup | None:
    """The group ``name`` means: a group of that name, or the group of one label of that name (the
    old ``val.<label>.<metric>`` spelling); None when neither."""
    for g in groups:
        if g.name == name:
            return g
    for g in groups:
        if g.labels == (name,):
            return g
    return None
