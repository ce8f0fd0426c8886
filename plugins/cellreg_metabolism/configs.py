"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

from typing import Literal

import attrs


@attrs.frozen
class FBAPhenotypesConfig:
    model: str = "textbook"  # the same model as the graph's
    singles: bool = True  # every gene once
    doubles: int = attrs.field(default=20_000, validator=attrs.validators.ge(0))  # all pairs when fewer exist
    triples: int = attrs.field(default=5_000, validator=attrs.validators.ge(0))
    noise: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))  # Gaussian, on both labels
    seed: int | None = None  # default: the run's seed


GeneRelation = Literal["shared_reaction"]


@attrs.frozen
class MetabolismGraphConfig:
    model: str = "textbook"  # a COBRApy-bundled model name, or a path to .xml/.xml.gz/.sbml/.json/.mat/.yml
    gene_relations: list[GeneRelation] = attrs.field(factory=lambda: ["shared_reaction"])
    max_clauses: int = attrs.field(default=4096, validator=attrs.validators.ge(1))
