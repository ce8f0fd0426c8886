"""Checks that run before any data loads, so a bad config fails before any work starts; torch-free,
so ``cellreg validate`` stays fast."""

from __future__ import annotations

from pathlib import Path

from cellreg.config import ConfigError, RunConfig
from cellreg.plugin_api.registry import Registry, default_registry
from cellreg.plugin_api.sources import FeatureSource, GraphSource, PhenotypeSource
from cellreg.training.trackers import tracker_errors


def label_errors(config: RunConfig, names: tuple[str, ...] | list[str],
                 groups: tuple[str, ...] | None = ()) -> list[str]:
    """What ``train.labels`` and ``train.select`` ask of labels the source does not provide
    (``select`` may also name one of the label ``groups``, e.g. a profile; None: groups unknown until
    the data loads, so ``select`` is checked then)."""
    wanted, errors, choices = config.train.labels, [], ", ".join(names)
    unknown = [w for w in wanted if w not in names]
    if unknown:
        errors.append(f"train.labels: no label {unknown[0]!r}; labels are: {choices}")
    elif len(set(wanted)) != len(wanted):
        repeated = next(w for w in wanted if wanted.count(w) > 1)
        errors.append(f"train.labels: label {repeated!r} is listed more than once")
    parts = config.train.select.split(".")
    trained = wanted or names
    if not errors and groups is not None and len(parts) == 3 and parts[1] not in trained and parts[1] not in groups:
        errors.append(f"train.select: no label {parts[1]!r}; labels are: {', '.join(trained)}")
    return errors


def environment_errors(config: RunConfig, registry: Registry, kinds: dict[str, str] | None) -> list[str]:
    """Before any data loads: the ``[[environment]]`` columns exist and suit their encoders, and the
    head takes an environment at all (a family that cannot is refused by name)."""
    if not config.environment:
        return []
    errors = []
    # the classes only (they import torch, and only for a config that reads an environment)
    head = registry.get("head", config.model.head.name).load_factory()
    if isinstance(head, type) and not head.takes_environment:
        errors.append(f"environment: the {config.model.head.name!r} head (model.head) cannot use an environment "
                      f"(it has no per-strain embedding); leave out the [[environment]] terms, or choose a head "
                      "that takes one")
    for i, term in enumerate(config.environment):
        encoder = registry.get("environment", term.name).load_factory()
        if kinds is not None and term.column not in kinds:
            errors.append(f"environment[{i}].column: the phenotypes have no environment column {term.column!r}; "
                          f"they have: {', '.join(kinds) or 'none (declare them with [[phenotypes.environment]])'}")
        elif kinds is not None and isinstance(encoder, type) and kinds[term.column] not in encoder.kinds:
            errors.append(f"environment[{i}]: {term.name!r} encodes {', '.join(encoder.kinds)} columns; "
                          f"{term.column!r} is {kinds[term.column]}")
    return errors


def preflight(config: RunConfig, graph: GraphSource, phenotypes: PhenotypeSource, source: str,
              features: dict[str, FeatureSource] | None = None, base_dir: Path = Path("."),
              registry: Registry | None = None) -> None:
    """The sources' own checks (their files exist), then the labels the config asks for, where the
    phenotype source can tell them without loading; every problem at once, naming its key. A
    features source names keys within its own table; they are given here as ``features[i].key``."""
    errors = tracker_errors(config)
    errors += graph.check() + [f"{key}.{problem}" for key, f in (features or {}).items() for problem in f.check()]
    errors += phenotypes.check()
    for key in ("test", "val"):
        path = getattr(config.split, key)
        if path is not None and not (base_dir / Path(path).expanduser()).is_file():
            errors.append(f"split.{key}: no such file: {base_dir / Path(path).expanduser()}")
    if config.split.kind == "files" and not phenotypes.reads_labelled_files:
        errors.append(f"split.kind: \"files\" reads the published strains with the phenotype source, and "
                      f"{config.phenotypes.name!r} does not read files (no read_labelled)")
    names = None if errors else phenotypes.label_names()
    if names is not None:
        groups = phenotypes.label_groups()
        errors += label_errors(config, list(names), None if groups is None else tuple(g.name for g in groups))
    if not errors:
        errors += environment_errors(config, registry or default_registry(), phenotypes.environment_kinds())
    if errors:
        raise ConfigError(source, errors)
