"""Checks that run before any data loads, so a bad config fails before any work starts; torch-free,
so ``cellreg validate`` stays fast."""

from __future__ import annotations

from pathlib import Path

from cellreg.config import ConfigError, RunConfig
from cellreg.plugin_api.sources import FeatureSource, GraphSource, PhenotypeSource
from cellreg.training.trackers import tracker_errors


def label_errors(config: RunConfig, names: tuple[str, ...] | list[str], groups: tuple[str, ...] = ()) -> list[str]:
    """What ``train.labels`` and ``train.select`` ask of labels the source does not provide
    (``select`` may also name one of the label ``groups``, e.g. a profile)."""
    wanted, errors, choices = config.train.labels, [], ", ".join(names)
    unknown = [w for w in wanted if w not in names]
    if unknown:
        errors.append(f"train.labels: no label {unknown[0]!r}; labels are: {choices}")
    elif len(set(wanted)) != len(wanted):
        repeated = next(w for w in wanted if wanted.count(w) > 1)
        errors.append(f"train.labels: label {repeated!r} is listed more than once")
    parts = config.train.select.split(".")
    trained = wanted or names
    if not errors and len(parts) == 3 and parts[1] not in trained and parts[1] not in groups:
        errors.append(f"train.select: no label {parts[1]!r}; labels are: {', '.join(trained)}")
    return errors


def preflight(config: RunConfig, graph: GraphSource, phenotypes: PhenotypeSource, source: str,
              features: dict[str, FeatureSource] | None = None, base_dir: Path = Path(".")) -> None:
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
        errors += label_errors(config, list(names))
    if errors:
        raise ConfigError(source, errors)
