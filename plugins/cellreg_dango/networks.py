"""Which gene networks DANGO reads, and how strongly each penalises its zero entries.

DANGO was built on STRING's six evidence channels; the default takes every relation named
``string_*`` and falls back to all gene-gene relations when a graph has none.
"""

from __future__ import annotations

from cellreg import CellGraph

STRING_PREFIX = "string_"

# The channels that gained the most edges between STRING versions (the DANGO paper): their zero
# entries are the least trustworthy "no edge" calls, so they are down-weighted.
SPARSE_TRUST_WORDS = ("neighborhood", "neighbourhood", "coexpression", "experiment")
SPARSE_TRUST_LAMBDA = 0.1


def default_relations(graph: CellGraph) -> list[str]:
    names = list(graph.relations)
    return [n for n in names if n.startswith(STRING_PREFIX)] or names


def default_zero_weight(name: str) -> float:
    """λ for a network by name: 0.1 if it names neighborhood, co-expression or experimental
    evidence (any case, ``-``/``_`` ignored), else 1."""
    key = name.lower().replace("-", "").replace("_", "")
    return SPARSE_TRUST_LAMBDA if any(w in key for w in SPARSE_TRUST_WORDS) else 1.0


def choose_networks(graph: CellGraph, wanted: list[str], overrides: dict[str, float]) -> list[tuple[str, float]]:
    """``(relation name, λ)`` for each network; unknown names are errors that list the choices."""
    names = list(wanted) or default_relations(graph)
    if not names:
        raise ValueError("the DANGO encoder needs at least one gene-gene relation; the graph has none")
    choices = ", ".join(graph.relations)
    unknown = [n for n in names if n not in graph.relations]
    if unknown:
        raise ValueError(f"relations: no relation {unknown[0]!r} in the graph; relations are: {choices}")
    stray = [n for n in overrides if n not in names]
    if stray:
        raise ValueError(f"zero_weight: {stray[0]!r} is not one of the encoder's networks: {', '.join(names)}")
    return [(n, float(overrides.get(n, default_zero_weight(n)))) for n in names]
