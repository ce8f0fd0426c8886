"""GraphSource ``ontology``: the Gene Ontology (OBO + GAF) or a DCell topology file as a CellGraph.

The hierarchy goes into ``CellGraph.extra`` in the core's layout (:mod:`cellreg.data.hierarchy`),
with no gene-gene relations, so the source works alone or as one source of a composition.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cellreg import CellGraph, Context, GraphSource
from cellreg.config import DataError
from cellreg_dcell.configs import OntologyGraphConfig
from cellreg.toolkit.gene_list import read_gene_list
from cellreg_dcell.ontology import Filters, build
from cellreg_dcell.readers import read_gaf, read_obo, read_topology

log = logging.getLogger("cellreg")
FILES = ("obo", "gaf", "topology", "genes")


class OntologyGraph(GraphSource):
    def __init__(self, config: OntologyGraphConfig, context: Context) -> None:
        self.config, self.context = config, context
        self._report: dict[str, str] = {}

    def report(self) -> dict[str, str]:
        return dict(self._report)

    def _path(self, key: str) -> Path | None:
        value = getattr(self.config, key)
        return None if value is None else self.context.resolve(value)

    def check(self) -> list[str]:
        return [f"graph.{key}: no such file: {p}" for key in FILES if (p := self._path(key)) and not p.is_file()]

    def load(self) -> CellGraph:
        c = self.config
        known = read_gene_list(self._path("genes")) if c.genes else None
        if c.topology:
            ontology = read_topology(self._path("topology"))
            annotations = ontology.annotations
        else:
            ontology = read_obo(self._path("obo"), c.relations)
            rows = read_gaf(self._path("gaf"), c.gene_column, set(known) if known else None)
            annotations = [(g, t, e) for g, t, e, _ in rows]
        genes = known or sorted({g for g, _, _ in annotations})
        filters = Filters(c.root, c.min_genes, c.drop_redundant, tuple(c.exclude_evidence))
        source = c.topology or c.obo
        try:
            built = build(ontology.terms, ontology.edges, annotations, genes, filters)
        except ValueError as exc:
            raise DataError(source, [str(exc)]) from None
        self._check_totals(ontology.total_genes, built.hierarchy, genes, annotations)
        if built.hierarchy.num_terms == 0:
            raise DataError(source, ["no term is left after filtering: " + "; ".join(built.report)])
        log.info("ontology %s\n  %s\n%s", source, "\n  ".join(built.report), built.hierarchy.summary(genes))
        h = built.hierarchy
        covered = len(set(h.annotations[0].tolist()))
        self._report = {"filtering": "; ".join(built.report), "terms": f"{h.num_terms:,}", "depth": str(h.depth),
                        "genes annotated": f"{covered:,} of {len(genes):,}",
                        "genes with no term": f"{len(genes) - covered:,}"}
        return CellGraph(genes=tuple(genes), relations={}, extra=built.hierarchy.to_extra())

    def _check_totals(self, totals, hierarchy, genes, annotations) -> None:
        """A topology file's ROOT counts against the propagated gene sets (a warning: files differ in
        whether the count includes genes outside the vocabulary)."""
        if not totals:
            return
        size = dict(zip(hierarchy.terms, hierarchy.term_genes().sum(1).A.ravel().tolist()))
        off = [(t, n, line, size[t]) for t, (n, line) in totals.items() if t in size and size[t] != n]
        if off:
            t, n, line, got = off[0]
            log.warning("%s: %d ROOT lines state another gene count than their blocks give, e.g. line %d: %s says "
                        "%d, found %d", self.config.topology, len(off), line, t, n, got)
