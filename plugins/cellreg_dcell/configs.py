"""Config tables of the DCell plugins, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

from typing import Literal

import attrs

_ge0 = attrs.validators.ge(0)


@attrs.frozen
class OntologyGraphConfig:
    """``[graph] name = "ontology"``: an OBO ontology with GAF annotations, or a DCell topology file."""

    obo: str | None = None  # the ontology (is_a / part_of edges), e.g. go-basic.obo
    gaf: str | None = None  # gene annotations in GAF 2.x, e.g. gene_association.sgd
    topology: str | None = None  # instead of obo + gaf: DCell's ROOT/GENES/TERMS blocks
    genes: str | None = None  # the vocabulary, one gene per line; default: every annotated gene
    gene_column: int = attrs.field(default=3, validator=attrs.validators.and_(
        attrs.validators.ge(1), attrs.validators.le(17)))  # GAF column of the gene (1-based); SGD: 11
    relations: list[str] = attrs.field(factory=lambda: ["is_a", "part_of"])  # OBO edges that nest terms
    root: str | None = None  # keep only this term and its descendants, e.g. GO:0008150
    min_genes: int = attrs.field(default=6, validator=_ge0)  # drop terms with fewer genes
    drop_redundant: bool = True  # drop a term whose genes equal one of its children's
    exclude_evidence: list[str] = attrs.field(factory=lambda: ["IGI"])  # GAF evidence codes left out

    def __attrs_post_init__(self) -> None:
        if self.topology is not None and (self.obo is not None or self.gaf is not None):
            raise ValueError("give either 'topology' or 'obo' with 'gaf', not both")
        if self.topology is None and (self.obo is None or self.gaf is None):
            raise ValueError("needs 'obo' and 'gaf' (an ontology and its gene annotations), or 'topology'")


Variant = Literal["paper", "released"]


@attrs.frozen
class DCellConfig:
    """``[model.encoder] name = "dcell"``. ``variant`` picks the published paper's widths and
    auxiliary weight, or the released code's (docs/dcell.md)."""

    variant: Variant = "paper"
    min_width: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.ge(1)))
    width_per_gene: float | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.gt(0.0)))
    auxiliary_weight: float | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.ge(0.0)))  # alpha of every non-root term's auxiliary loss
    init_scale: float | None = attrs.field(default=None, validator=attrs.validators.optional(
        attrs.validators.gt(0.0)))  # multiplies the initial weights (released code: 0.001)
    waste: float = attrs.field(default=2.0, validator=attrs.validators.ge(1.0))  # padding allowed per batched block

    def settings(self) -> "DCellSettings":
        """The variant's settings, with any given explicitly in their place."""
        base = VARIANTS[self.variant]
        given = {k: getattr(self, k) for k in ("min_width", "width_per_gene", "auxiliary_weight", "init_scale")}
        return attrs.evolve(base, **{k: v for k, v in given.items() if v is not None})


@attrs.frozen
class DCellSettings:
    min_width: int
    width_per_gene: float
    round_up: bool  # ceil (paper) or floor (released code) of width_per_gene x genes
    auxiliary_weight: float
    init_scale: float

    def width(self, genes: int) -> int:
        import math

        raw = self.width_per_gene * genes
        return max(self.min_width, math.ceil(raw - 1e-9) if self.round_up else math.floor(raw + 1e-9))


VARIANTS = {
    # Ma et al. 2018: max(20, ceil(0.3 x genes)) tanh + batch-norm neurons, alpha = 0.3
    "paper": DCellSettings(min_width=20, width_per_gene=0.3, round_up=True, auxiliary_weight=0.3, init_scale=1.0),
    # the released Lua code: max(10, floor(0.2 x genes)), alpha = 0.5, initial weights x 0.001
    "released": DCellSettings(min_width=10, width_per_gene=0.2, round_up=False, auxiliary_weight=0.5,
                              init_scale=0.001),
}


@attrs.frozen
class AuxiliaryLossConfig:
    """``[[loss]] name = "dcell_auxiliary"``: how the per-term losses are combined."""

    reduce: Literal["sum", "mean"] = "sum"  # the paper sums over terms
