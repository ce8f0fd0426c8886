"""``[phenotypes] name = "store"``: which studies, phenotypes and environments to train on, and what to
do with a strain that several studies measured under the same environment."""

from __future__ import annotations

from typing import Literal, Union

import attrs

from cellreg.toolkit.text_tables import not_empty

Value = Union[float, str]


@attrs.frozen
class EnvFilter:
    """Keep rows whose environment column ``name`` equals ``equals`` or one of ``one_of`` (numbers for
    numeric columns, names for categorical ones and for a dose's compound)."""

    name: str = attrs.field(validator=not_empty)
    equals: Value | None = None
    one_of: list[Value] | None = None

    def __attrs_post_init__(self) -> None:
        if (self.equals is None) == (self.one_of is None):
            raise ValueError(f"environment filter on {self.name!r}: give exactly one of equals or one_of")

    @property
    def accepted(self) -> list[Value]:
        return [self.equals] if self.equals is not None else list(self.one_of)


@attrs.frozen
class StoreConfig:
    studies: list[str] = attrs.field(validator=not_empty)
    phenotypes: list[str] = attrs.field(factory=list)  # [] = every phenotype of the studies
    environment: list[EnvFilter] = attrs.field(factory=list)  # rows must pass every filter
    # a strain (set + environment) measured by several studies: "mean" of all their rows, the
    # values of the first study in `prefer` that measured it, or "keep" one strain per study
    replicates: Literal["mean", "prefer", "keep"] = "mean"
    prefer: list[str] = attrs.field(factory=list)
    store: str | None = None  # default: $CELLREG_STORE, else the user data directory's cellreg/store
    unknown_genes: Literal["error", "drop"] = "error"
    # profile groups: "change" from the reference strain (no genes) under the same environment, as the
    # profiles source gives them, or the stored "level"
    profiles: Literal["change", "level"] = "change"

    def __attrs_post_init__(self) -> None:
        if self.replicates == "prefer" and not self.prefer:
            raise ValueError("replicates = \"prefer\" needs prefer = [studies, most trusted first]")
        if self.prefer and self.replicates != "prefer":
            raise ValueError("'prefer' orders studies for replicates = \"prefer\"")
        for study in self.prefer:
            if study not in self.studies:
                raise ValueError(f"prefer: {study!r} is not one of studies ({', '.join(self.studies)})")
