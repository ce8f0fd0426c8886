"""Config tables of this plugin, apart from the code they configure: listing plugins and
checking configs import no torch."""

from __future__ import annotations

import attrs


DEFAULT_RELATIONS = {"physical": 6.0, "regulatory": 3.0, "coexpression": 12.0}
YEAST_RELATIONS = {
    "physical": 42.1, "regulatory": 6.1, "tflink": 30.4, "string_neighborhood": 44.5,
    "string_fusion": 3.6, "string_cooccurence": 3.3, "string_coexpression": 301.5,
    "string_experimental": 248.8, "string_database": 22.1,
}
YEAST_DIRECTED = ["regulatory", "tflink"]
YEAST_GENES = 6607


def _positive(_, attribute, value):
    bad = {k: v for k, v in value.items() if not v > 0}
    if bad:
        raise ValueError(f"'{attribute.name}' mean degrees must be > 0: {bad}")


@attrs.frozen
class HierarchyConfig:
    """A planted ontology over the modules (``[graph.hierarchy]``; docs/synthetic.md)."""

    branching: float = attrs.field(default=4.0, validator=attrs.validators.ge(1.5))  # children per term, on average
    leaf_size: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # 0: the modules are the leaves
    second_parent: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))  # share of terms with a second parent (a DAG)
    second_module: float = attrs.field(default=0.0, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))  # share of genes also annotated to another leaf
    preset: str = attrs.field(default="", validator=attrs.validators.in_(["", "yeast_go"]))

    def resolved(self) -> "HierarchyConfig":
        """``yeast_go``: about the shape of DCell's filtered yeast GO (~2,500 terms, ~97 k neurons,
        depth 12) on 6,607 genes: 2,463 terms, 97.9 k paper-width neurons, depth 13; for throughput."""
        if self.preset == "yeast_go":
            return attrs.evolve(self, preset="", **YEAST_GO_HIERARCHY)
        return self


YEAST_GO_HIERARCHY = {"branching": 1.75, "leaf_size": 7, "second_parent": 0.19, "second_module": 0.3}


@attrs.frozen
class SyntheticGraphConfig:
    genes: int = attrs.field(default=1000, validator=attrs.validators.ge(10))
    relations: dict[str, float] = attrs.field(factory=lambda: dict(DEFAULT_RELATIONS), validator=_positive)
    directed: list[str] = attrs.field(factory=lambda: ["regulatory"])
    module_size: int = attrs.field(default=25, validator=attrs.validators.ge(2))
    within_module: float = attrs.field(default=0.7, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))
    degree_exponent: float = attrs.field(default=2.3, validator=attrs.validators.gt(1.0))
    preset: str = attrs.field(default="", validator=attrs.validators.in_(["", "yeast"]))
    hierarchy: HierarchyConfig | None = None  # a planted ontology in CellGraph.extra; none by default
    seed: int | None = None  # default: the run's seed

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.directed) - set(self.relations))
        if unknown and not self.preset:
            raise ValueError(f"'directed' names relations that do not exist: {unknown}")

    def resolved(self) -> "SyntheticGraphConfig":
        """The yeast preset overrides gene count and relations."""
        if self.preset == "yeast":
            return attrs.evolve(self, preset="", genes=YEAST_GENES, relations=dict(YEAST_RELATIONS),
                                directed=list(YEAST_DIRECTED))
        return self


SMALL_SCREEN_GENES = 180
SMALL_SCREEN_PAIRS = 9000
SMALL_SCREEN_GENE_EFFECT = 0.008  # with the planted epsilon's 0.016 sd: about a third of the signal
SMALL_SCREEN_NOISE = 0.018  # about the sd of epsilon over the pairs: replicate Pearson ~0.5, a ceiling of ~0.72


@attrs.frozen
class SyntheticEnvironmentConfig:
    """``[phenotypes.environment]``: grow each strain under a few conditions with a planted
    heat-sensitive module and a pathway inhibitor (cellreg_synthetic.environments)."""

    temperatures: list[float] = attrs.field(factory=lambda: [22.0, 26.0, 30.0, 34.0, 37.0])
    doses: list[float] = attrs.field(factory=lambda: [0.0, 1.0, 3.0, 10.0, 30.0])  # µM of the inhibitor
    per_strain: int = attrs.field(default=3, validator=attrs.validators.ge(1))  # conditions per strain
    heat_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))
    heat_threshold: float = 32.0  # °C
    heat_cost: float = attrs.field(default=0.4, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))
    pathway_fraction: float = attrs.field(default=0.1, validator=attrs.validators.and_(
        attrs.validators.gt(0.0), attrs.validators.lt(1.0)))
    ic50: float = attrs.field(default=5.0, validator=attrs.validators.gt(0.0))  # µM
    drug_cost: float = attrs.field(default=0.5, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))

    def __attrs_post_init__(self) -> None:
        if not self.temperatures or not self.doses:
            raise ValueError("'temperatures' and 'doses' must not be empty")
        if any(d < 0 for d in self.doses):
            raise ValueError("'doses' must be >= 0")


@attrs.frozen
class SyntheticPhenotypesConfig:
    singles: bool = True  # every gene once as a single mutant
    doubles: int = attrs.field(default=20_000, validator=attrs.validators.ge(0))
    triples: int = attrs.field(default=5_000, validator=attrs.validators.ge(0))
    local_fraction: float = attrs.field(default=0.5, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.le(1.0)))  # sets drawn along edges, not uniformly
    latent_dim: int = attrs.field(default=16, validator=attrs.validators.ge(2))
    hops: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    threshold: float = attrs.field(default=0.3, validator=attrs.validators.and_(
        attrs.validators.ge(-1.0), attrs.validators.lt(1.0)))
    interaction_scale: float = 0.25
    noise: float = attrs.field(default=0.02, validator=attrs.validators.ge(0.0))
    screen_genes: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # genes ever perturbed; 0 = all
    # sd of a per-gene interaction propensity r_i (eps_ij += r_i + r_j), independent of the graphs: real
    # screens have genes with many negative (or positive) interactions, which an additive model captures
    gene_effect: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    preset: str = attrs.field(default="", validator=attrs.validators.in_(["", "small_screen"]))
    seed: int | None = None  # default: the run's seed
    environment: SyntheticEnvironmentConfig | None = None  # strains grown under conditions; none by default

    def resolved(self) -> "SyntheticPhenotypesConfig":
        """The small-screen preset: a real digenic screen's shape (a few hundred genes out of the
        organism's thousands, ~9 k of their pairs, replicate-level noise, no singles or triples)."""
        if self.preset == "small_screen":
            return attrs.evolve(self, preset="", singles=False, doubles=SMALL_SCREEN_PAIRS, triples=0,
                                screen_genes=SMALL_SCREEN_GENES, noise=SMALL_SCREEN_NOISE,
                                gene_effect=SMALL_SCREEN_GENE_EFFECT,
                                local_fraction=0.0)  # a screen crosses its genes regardless of edges
        return self
