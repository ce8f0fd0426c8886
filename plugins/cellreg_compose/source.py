"""GraphSource ``compose``: every ``[[graph.sources]]`` table built through the registry like a
top-level ``[graph]``, loaded, and merged over one vocabulary by :func:`cellreg.data.compose.compose`."""

from __future__ import annotations

from cellreg import CellGraph, Context, GraphSource
from cellreg.config.errors import ConfigError
from cellreg.config.schema import choose_plugin
from cellreg.toolkit.gene_list import read_aliases, read_gene_list
from cellreg_compose.configs import ComposeConfig


class ComposedGraph(GraphSource):
    def __init__(self, config: ComposeConfig, context: Context) -> None:
        if context.registry is None:
            raise ValueError("a composed graph builds its sources through the registry; the Context has none")
        self.config = config
        self.genes = context.resolve(config.genes) if config.genes is not None else None
        self.sources, self.aliases, errors = [], [], []
        for i, table in enumerate(config.sources):
            path = f"graph.sources[{i}]"
            body = dict(table)
            alias = body.pop("map_genes", None)
            if body.get("name") == "compose":
                errors.append(f"{path}.name: a composed graph cannot be one of its own sources")
                continue
            try:
                choice = choose_plugin(body, "graph", path, context.registry)
            except ConfigError as exc:
                errors += exc.errors
                continue
            label = f"{path} ({choice.name})"
            self.sources.append((label, context.registry.build("graph", choice.name, choice.config, context)))
            self.aliases.append(context.resolve(alias) if isinstance(alias, str) else alias)
            if alias is not None and not isinstance(alias, str):
                errors.append(f"{path}.map_genes: expected a file path, got {alias!r}")
        if errors:
            raise ConfigError("[graph]", errors)

    def check(self) -> list[str]:
        """The sources' own checks, their keys put under ``graph.sources[i]``."""
        problems = [] if self.genes is None or self.genes.is_file() else [f"graph.genes: no such file: {self.genes}"]
        for i, ((_, source), alias) in enumerate(zip(self.sources, self.aliases)):
            problems += [p.replace("graph.", f"graph.sources[{i}].", 1) if p.startswith("graph.") else
                         f"graph.sources[{i}]: {p}" for p in source.check()]
            if alias is not None and not alias.is_file():
                problems.append(f"graph.sources[{i}].map_genes: no such file: {alias}")
        return problems

    def load(self) -> CellGraph:
        from cellreg.data.compose import Part, compose

        vocabulary = read_gene_list(self.genes) if self.genes is not None else None
        parts = [Part(label, source.load(), read_aliases(alias) if alias is not None else {})
                 for (label, source), alias in zip(self.sources, self.aliases)]
        where = f"the vocabulary {self.genes}" if self.genes is not None else "the union of the sources"
        return compose(parts, vocabulary, self.config.unknown_genes, where)
