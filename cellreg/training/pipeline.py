"""From a RunConfig to the objects of a run: graph, table, split, scaler, op and model.

Everything here goes through the registry; the core never imports a plugin.
"""

from __future__ import annotations

import logging
from pathlib import Path

import attrs
import numpy as np

from cellreg.config import ConfigError, PluginChoice, RunConfig
from cellreg.data.graph import CellGraph
from cellreg.training.model import CellModel
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.plugin_api.contracts import Context, PerturbationOp
from cellreg.plugin_api.registry import Registry
from cellreg.data.splits import Split, make_split
from cellreg.data.standardize import LabelScaler

log = logging.getLogger("cellreg")


def build(registry: Registry, kind: str, choice: PluginChoice, context: Context):
    plugin = registry.get(kind, choice.name)
    config = choice.config if choice.config is not None else plugin.config()
    return plugin.factory(config, context)


@attrs.define
class Data:
    graph: CellGraph
    table: PhenotypeTable  # restricted to the labels being trained on
    fingerprint: str  # of the whole table, so runs on other labels of the same data compare
    split: Split
    scaler: LabelScaler
    targets: np.ndarray  # standardized labels [S, L]


def select_labels(table: PhenotypeTable, wanted: list[str], source: str) -> PhenotypeTable:
    if not wanted:
        return table
    unknown = [w for w in wanted if w not in table.label_names]
    if unknown:
        raise ConfigError(source, [f"train.labels: no label {unknown[0]!r}; labels are: {', '.join(table.label_names)}"])
    if len(set(wanted)) != len(wanted):
        repeated = next(w for w in wanted if wanted.count(w) > 1)
        raise ConfigError(source, [f"train.labels: label {repeated!r} is listed more than once"])
    idx = [table.label_names.index(w) for w in wanted]
    return attrs.evolve(table, labels=table.labels[:, idx], label_names=tuple(wanted))


def check_table(table: PhenotypeTable, config: RunConfig, source: str) -> None:
    """Right after loading: a table without strains or without labels has nothing to train on."""
    path = getattr(config.phenotypes.config, "path", None)
    what = f"phenotypes ({config.phenotypes.name}{f', {path}' if path else ''})"
    if table.num_strains == 0:
        raise ConfigError(source, [f"{what}: no strains to train on (a table with only its header line, or every "
                                   "strain dropped?)"])
    if not table.label_names:
        raise ConfigError(source, [f"{what}: no labels to train on; phenotypes.labels = [] is for tables scored "
                                   "with `cellreg predict`"])


def check_select(config: RunConfig, label_names: tuple[str, ...], source: str) -> None:
    parts = config.train.select.split(".")
    if len(parts) == 3 and parts[1] not in label_names:
        raise ConfigError(source, [f"train.select: no label {parts[1]!r}; labels are: {', '.join(label_names)}"])


def load_graph(config: RunConfig, registry: Registry, base_dir: Path) -> CellGraph:
    graph = build(registry, "graph", config.graph, Context(seed=config.seed, base_dir=base_dir)).load()
    log.info("%s", graph.summary())
    return graph


def load_data(config: RunConfig, registry: Registry, base_dir: Path, source: str = "<config>",
              split: Split | None = None, write_cache: bool = True) -> Data:
    graph = load_graph(config, registry, base_dir)
    table = build(registry, "phenotypes", config.phenotypes, Context(seed=config.seed, base_dir=base_dir)).load(graph)
    if table.gene_names != graph.genes:
        raise ValueError("the phenotype table's gene vocabulary differs from the graph's (genes the organism "
                         "never had can be scored with `cellreg predict`, not trained on)")
    check_table(table, config, source)
    log.info("%s", table.summary())
    if split is None:
        try:
            settings = config.split  # a relative cache folder belongs beside the config, like its data paths
            if settings.cache_dir and not Path(settings.cache_dir).expanduser().is_absolute():
                settings = attrs.evolve(settings, cache_dir=str(base_dir / settings.cache_dir))
            split = make_split(table, settings, write_cache=write_cache)  # labels do not move strains
        except ConfigError as exc:  # name the config file, not just [split]
            raise ConfigError(source, exc.errors) from None
    fingerprint = table.fingerprint()
    table = select_labels(table, config.train.labels, source)
    check_select(config, table.label_names, source)
    scaler = LabelScaler.fit(table.labels[split.train])
    return Data(graph, table, fingerprint, split, scaler, scaler.transform(table.labels).astype(np.float32))


def build_op(config: RunConfig, registry: Registry, graph: CellGraph, base_dir: Path) -> PerturbationOp:
    op = build(registry, "perturbation", config.perturbation, Context(config.seed, base_dir, graph))
    op.prepare(graph)
    return op


def build_model(config: RunConfig, registry: Registry, graph: CellGraph, label_names: tuple[str, ...],
                base_dir: Path) -> CellModel:
    ctx = Context(seed=config.seed, base_dir=base_dir, graph=graph, label_names=tuple(label_names))
    encoder = build(registry, "encoder", config.model.encoder, ctx)
    head = build(registry, "head", config.model.head, attrs.evolve(ctx, encoder=encoder))
    losses, weights = {}, {}
    for term in config.loss:
        key = term.name if term.name not in losses else f"{term.name}_{len(losses)}"
        losses[key] = build(registry, "loss", PluginChoice(term.name, term.config), attrs.evolve(ctx, encoder=encoder))
        weights[key] = term.weight
    return CellModel(encoder, head, losses, weights)
