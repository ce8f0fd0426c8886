"""One run's objects, built from its config exactly as training builds them: graph, table, split,
scaler, op, model and collate. Every command (run, predict, bench, the benchmark scripts, and any
later one) gets them from a :class:`Pipeline`, so none assembles a run by hand.

Each piece is built once, on first use; everything goes through the registry, so the core never
imports a plugin.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import Future
from pathlib import Path

import attrs
import numpy as np
import torch

from cellreg.config import ConfigError, DataError, PluginChoice, RunConfig, read_toml
from cellreg.config.schema import FeatureTerm
from cellreg.data.batches import Collate
from cellreg.data.environment_schema import EnvironmentSchema
from cellreg.data.gene_features import JoinedFeatures, join
from cellreg.data.graph import CellGraph
from cellreg.data.leaks import Leak, drop_edges, held_out_edges, held_out_pair_keys, leak_report
from cellreg.data.label_groups import LabelGroup
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.data.published_splits import concatenate
from cellreg.data.splits import Split, make_split
from cellreg.data.profiles import profile_columns
from cellreg.data.standardize import LabelScaler
from cellreg.plugin_api.contracts import Context, GraphSource, PerturbationOp, PhenotypeSource, StrainColumns
from cellreg.plugin_api.run_config import load_config
from cellreg.plugin_api.sources import FeatureSource, NewStrains
from cellreg.plugin_api.registry import Registry, default_registry
from cellreg.training.environment import EnvironmentReadout
from cellreg.training.model import CellModel
from cellreg.training.preflight import label_errors, preflight
from cellreg.training.rundir import RunDir, RunInfo

log = logging.getLogger("cellreg")


@attrs.define
class Data:
    graph: CellGraph
    table: PhenotypeTable  # restricted to the labels being trained on
    _fingerprint: Future  # of the whole table, so runs on other labels of the same data compare (maybe hashing)
    split: Split
    leaks: list[Leak] = attrs.field(factory=list)  # per relation, held-out strains it joins (cellreg.data.leaks)
    dropped: dict[str, np.ndarray] = attrs.field(factory=dict)  # [split] held_out_edges = "drop": edge positions

    @property
    def fingerprint(self) -> str:
        """The whole table's fingerprint, waited for where it is still hashed (``inspect`` never waits)."""
        return self._fingerprint.result()

    @functools.cached_property
    def scaler(self) -> LabelScaler:
        """Fitted on the training rows when first needed: ``inspect`` never pays for it."""
        return LabelScaler.fit(self.table.labels[self.split.train], profile_columns(self.table))

    @functools.cached_property
    def targets(self) -> np.ndarray:
        """Standardized labels [S, L] float32."""
        return self.scaler.transform(self.table.labels).astype(np.float32, copy=False)


def select_labels(table: PhenotypeTable, config: RunConfig, source: str) -> PhenotypeTable:
    errors = label_errors(config, table.label_names, tuple(g.name for g in table.label_groups))
    if errors:
        raise ConfigError(source, errors)
    wanted = config.train.labels
    if not wanted:
        return table
    return table.with_labels(wanted)  # label groups keep their labels among these


def check_table(table: PhenotypeTable, config: RunConfig, source: str, origin: str) -> None:
    """Right after loading: a table without strains or without labels has nothing to train on."""
    what = f"phenotypes ({config.phenotypes.name}{f', {origin}' if origin else ''})"
    if table.num_strains == 0:
        raise DataError(source, [f"{what}: no strains to train on (a table with only its header line, or every "
                                 "strain dropped?)"])
    if not table.label_names:
        raise DataError(source, [f"{what}: no labels to train on; phenotypes.labels = [] is for tables scored "
                                 "with `cellreg predict`"])


def check_measured(table: PhenotypeTable, train: np.ndarray, source: str, origin: str) -> None:
    """Every label trained on needs measured training rows: with none its loss is 0 and its head
    untrained, and every prediction of it would be a number from nowhere."""
    measured = np.isfinite(table.labels[train[:4096]]).any(0)  # most labels show one in the first rows
    if not measured.all():
        rest = np.flatnonzero(~measured)
        measured[rest] = np.isfinite(table.labels[np.ix_(train, rest)]).any(0)
    empty = [f"{name!r}" for name, seen in zip(table.label_names, measured) if not seen]
    if empty:
        where = f" in {origin}" if origin else ""
        raise DataError(source, [f"label{'s' * (len(empty) > 1)} {', '.join(empty)}{where}: no measured value in "
                                 f"the {len(train):,} training strains; leave {'them' if len(empty) > 1 else 'it'} "
                                 "out with train.labels = [...]"])


class Pipeline:
    """The objects of one run, from one config.

    ``source`` names the config in error messages; ``split`` replaces the configured split (a
    resumed run's saved one); ``info`` is a trained run's record, whose labels and scaler then
    stand in for the training table's, so scoring never loads the training data.
    """

    def __init__(self, config: RunConfig, registry: Registry | None = None, base_dir: Path = Path("."),
                 source: str = "<config>", split: Split | None = None, info: RunInfo | None = None,
                 write_cache: bool = True) -> None:
        self.config, self.registry = config, registry or default_registry()
        self.base_dir, self.source, self.info = Path(base_dir), source, info
        self._split, self.write_cache = split, write_cache  # False on all but the main process

    @classmethod
    def from_file(cls, path: str | Path, overrides: list[str] = (), registry: Registry | None = None,
                  **kwargs) -> "Pipeline":
        """A config file: its relative data paths resolve against its folder."""
        registry = registry or default_registry()
        config = load_config(path, overrides, registry=registry)
        return cls(config, registry, Path(path).resolve().parent, str(path), **kwargs)

    @classmethod
    def from_run(cls, run_dir: str | Path | RunDir, registry: Registry | None = None, **kwargs) -> "Pipeline":
        """A trained run: its saved config, data folder and record."""
        rd = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
        info = rd.read_info()
        registry = registry or default_registry()
        # a run from before train.threads existed ran with torch's default: resume and score it alike
        old = "threads" not in read_toml(rd.config).get("train", {})
        config = load_config(rd.config, ["train.threads=0"] if old else [], registry=registry)
        pipe = cls(config, registry, Path(info.base_dir), str(rd.config), info=info, **kwargs)
        pipe.dropped = rd.read_dropped_edges()  # the edges training left out of the graph
        return pipe

    # -- building blocks ------------------------------------------------------------------------
    def context(self, **fields) -> Context:
        return Context(seed=self.config.seed, base_dir=self.base_dir, registry=self.registry, **fields)

    def build(self, kind: str, choice: PluginChoice, context: Context):
        return self.registry.build(kind, choice.name, choice.config, context)

    @functools.cached_property
    def graph_source(self) -> GraphSource:
        return self.build("graph", self.config.graph, self.context())

    def preflight(self) -> None:
        """Cheap checks before any data loads, so a bad config fails before any work starts: the
        sources' own (their files exist) and the labels the config asks for, where the source can
        tell them without loading."""
        preflight(self.config, self.graph_source, self.phenotypes, self.source,
                  {f"features[{i}]": source for i, (_, _, source) in enumerate(self.feature_sources)}, self.base_dir,
                  self.registry)

    @functools.cached_property
    def feature_sources(self) -> list[tuple[str, FeatureTerm, FeatureSource]]:
        """``(label for messages, table, source)`` per ``[[features]]`` table."""
        return [(f"features[{i}] ({term.name})", term,
                 self.build("features", PluginChoice(term.name, term.config), self.context()))
                for i, term in enumerate(self.config.features)]

    @functools.cached_property
    def features(self) -> JoinedFeatures | None:
        """The ``[[features]]`` tables over the graph source's vocabulary, or None without any."""
        if not self.feature_sources:
            return None
        genes = self.graph_source_output.genes
        try:
            return join(genes, [(label, term.missing, source.load(genes)) for label, term, source in self.feature_sources])
        except ValueError as exc:
            raise DataError(self.source, [str(exc)]) from None

    @functools.cached_property
    def graph_source_output(self) -> CellGraph:
        return self.graph_source.load()

    dropped: dict[str, np.ndarray] | None = None  # a trained run's held-out edges (from_run)

    @functools.cached_property
    def source_graph(self) -> CellGraph:
        """The graph source's graph with the ``[[features]]``: what the tables are read against."""
        graph = self.graph_source_output
        if self.features is not None:  # after the source's own features, if it has any
            added = torch.from_numpy(self.features.values)
            own = graph.gene_features
            graph = attrs.evolve(graph, gene_features=added if own is None else torch.cat([own.float(), added], 1))
        log.info("%s", graph.summary())
        return graph

    @functools.cached_property
    def graph(self) -> CellGraph:
        """The graph the model reads: the source's, less every edge joining two genes of a validation
        or test strain with ``[split] held_out_edges = "drop"`` (recomputed with the split; a trained
        run's from its directory)."""
        if self.info is not None:
            graph = drop_edges(self.source_graph, self.dropped or {})
        elif self.config.split.held_out_edges == "drop":
            graph = self.data.graph
        else:
            graph = self.source_graph
        if self.info is not None and graph.fingerprint() != self.info.graph_fingerprint:
            raise ConfigError(self.source, ["the graph this config builds differs from the one the run was "
                                            "trained on"])
        return graph

    @functools.cached_property
    def phenotypes(self) -> PhenotypeSource:
        return self.build("phenotypes", self.config.phenotypes, self.context())

    @functools.cached_property
    def data(self) -> Data:
        """The training table, its split, the label scaler and standardized targets."""
        config, source, graph = self.config, self.source, self.source_graph
        table, sides = self._published_files(self.phenotypes.load(graph))
        if table.gene_names != graph.genes:
            raise DataError(source, ["the phenotype table's gene vocabulary differs from the graph's (genes the organism "
                             "never had can be scored with `cellreg predict`, not trained on)"])
        check_table(table, config, source, self.phenotypes.describe())
        if log.isEnabledFor(logging.INFO):  # a summary of 20 M strains is a pass over them
            log.info("%s", table.summary())
        split = self._split
        if split is None:
            try:
                settings = config.split  # a relative cache folder belongs beside the config, like its data paths
                if settings.cache_dir and not Path(settings.cache_dir).expanduser().is_absolute():
                    settings = attrs.evolve(settings, cache_dir=str(self.base_dir / settings.cache_dir))
                split = make_split(table, settings, self.write_cache, sides)  # labels do not move strains
            except ConfigError as exc:  # name the config file, not just [split]
                raise ConfigError(source, exc.errors) from None
        fingerprint = table.fingerprint_later()  # hashed once, beside the split and the reports
        table = select_labels(table, config, source)
        check_measured(table, split.train, source, self.phenotypes.describe())  # a data error before any report
        leaks, dropped = self._held_out_edges(graph, table, split)
        graph = drop_edges(graph, dropped)
        return Data(graph, table, fingerprint, split, leaks, dropped)

    def _held_out_edges(self, graph: CellGraph, table: PhenotypeTable,
                        split: Split) -> tuple[list[Leak], dict[str, np.ndarray]]:
        """Per relation, how often it joins the genes of a held-out strain against chance (a warning
        when far above: a label may be an input); and the edges to drop with ``held_out_edges = "drop"``."""
        if not graph.relations:
            return [], {}
        held_out = np.concatenate([split.val, split.test])
        leaks = leak_report(graph, table, held_out, self.config.seed)
        drop = self.config.split.held_out_edges == "drop"
        dropped = held_out_edges(graph, held_out_pair_keys(table, held_out)) if drop else {}
        for leak in leaks:
            if leak.far_above and not drop:
                log.warning("%s; drop those edges with [split] held_out_edges = \"drop\"", leak.line())
            elif drop:
                log.info("%s; %s of its edges dropped (held_out_edges = \"drop\")", leak.line(),
                         f"{len(dropped[leak.relation]):,}")
        return leaks, dropped

    def _published_files(self, table: PhenotypeTable) -> tuple[PhenotypeTable, np.ndarray | None]:
        """With ``[split] kind = "files"``: the published validation and test files appended after the
        main table, read by the same source; and which of them each strain came from."""
        settings = self.config.split
        if settings.kind != "files":
            return table, None
        parts, origins, sides = [table], [self.phenotypes.describe() or "[phenotypes]"], [0]
        for side, key in ((1, "val"), (2, "test")):
            path = getattr(settings, key)
            if path is not None:
                parts.append(self.phenotypes.read_labelled(self.context().resolve(path), self.source_graph))
                origins.append(f"split.{key} ({path})")
                sides.append(side)
        joined, origin = concatenate(parts, origins)
        for t, where in zip(parts, origins):
            log.info("%s: %s strains", where, f"{len(t):,}")
        return joined, np.asarray(sides, np.int8)[origin]

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(self.info.labels) if self.info is not None else self.data.table.label_names

    @property
    def label_groups(self) -> tuple[LabelGroup, ...]:
        return self.info.groups() if self.info is not None else self.data.table.label_groups

    @functools.cached_property
    def environment(self) -> EnvironmentSchema:
        """The environment columns the model reads (``[[environment]]``), fitted on training rows,
        or a trained run's; empty for a model that ignores the environment."""
        if self.info is not None:
            return EnvironmentSchema.from_dict(self.info.environment)
        names = [term.column for term in self.config.environment]
        try:
            return EnvironmentSchema.fit(self.data.table.environment, names, self.data.split.train)
        except KeyError as exc:
            raise DataError(self.source, [f"environment: {exc.args[0]}"]) from None

    def encode_environment(self, table: PhenotypeTable, where: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``env_values`` and ``env_codes`` of every strain of ``table``, or None for a blind model."""
        if not self.environment:
            return None
        try:
            return self.environment.encode(table.environment, table.num_strains, where)
        except ValueError as exc:
            raise DataError(self.source, [str(exc)]) from None

    @property
    def scaler(self) -> LabelScaler:
        return LabelScaler.from_dict(self.info.scaler) if self.info is not None else self.data.scaler

    @functools.cached_property
    def op(self) -> PerturbationOp:
        return self.build("perturbation", self.config.perturbation, self.context(graph=self.graph))

    @functools.cached_property
    def model(self) -> CellModel:
        ctx = self.context(graph=self.graph, label_names=self.label_names)
        model = self.config.model
        encoder = self.build("encoder", model.encoder, ctx)
        with_encoder = attrs.evolve(ctx, encoder=encoder)
        head = self.build("head", model.head, with_encoder)
        losses, weights = {}, {}
        for term in self.config.loss:
            key = term.name if term.name not in losses else f"{term.name}_{len(losses)}"
            losses[key] = self.build("loss", PluginChoice(term.name, term.config), with_encoder)
            weights[key] = term.weight
        readout = None
        if self.config.environment:
            encoders = [self.build("environment", PluginChoice(term.name, term.config),
                                   self.context(environment_column=column))
                        for term, column in zip(self.config.environment, self.environment.columns)]
            for term, column, enc in zip(self.config.environment, self.environment.columns, encoders):
                if column.kind.value not in enc.kinds:
                    raise ConfigError(self.source, [f"environment: {term.name!r} encodes {', '.join(enc.kinds)} "
                                                    f"columns; {column.name!r} is {column.kind.value}"])
            if head.embedding_dim is None:
                raise ConfigError(self.source, [f"environment: the {model.head.name!r} head sets no embedding_dim (the "
                                                "width of its strain embedding), so it cannot take an environment"])
            readout = EnvironmentReadout(encoders, head.embedding_dim, len(self.label_names))
        return CellModel(encoder, head, losses, weights, readout)

    @functools.cached_property
    def collate(self) -> Collate:
        """Training-table rows -> batches with standardized targets."""
        return Collate(self.data.table, self.op, self.data.targets,
                       self.encode_environment(self.data.table, self.phenotypes.describe() or "phenotypes"))

    def collate_for(self, table: PhenotypeTable, where: str = "new strains") -> Collate:
        """Rows of another table (new strains, no targets) -> batches, made exactly like training's."""
        return Collate(table, self.op, environment=self.encode_environment(table, where))

    def read_strains(self, path: Path, columns: StrainColumns) -> NewStrains:
        """New strains to score, read by the run's own phenotype source."""
        if self.environment and not columns.environment:  # the run's columns, as a file of new strains names them
            columns = attrs.evolve(columns, environment=self.environment.specs())
        return self.phenotypes.read_strains(Path(path), self.graph, columns)
