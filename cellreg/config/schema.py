"""Run configs: TOML parsed strictly into frozen attrs classes with cattrs.

Strict means: 3.7 is not an int, "no" is not a bool, an unknown key is an error (with a "did you
mean"), and each plugin's table is structured by that plugin's own config class. Every problem is
reported at once, with its key path, before any data is loaded.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Literal, Protocol

import attrs
import cattrs
import tomli
import tomli_w
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.v import format_exception as default_format_exception

from cellreg.config.errors import ConfigError
from cellreg.config.keypath import KeyPathError, assign
from cellreg.config.split_config import SplitConfig
from cellreg.config.strict import KEY, register_strict_hooks


class PluginCatalog(Protocol):
    """What parsing needs of the installed plugins: the names of a kind, one by name (``get`` raises a
    ``LookupError`` naming the choices) and a kind's default. ``cellreg.plugin_api.registry.Registry``
    is one; :mod:`cellreg.plugin_api.run_config` parses against it by default, so this layer names no
    higher one."""

    def names(self, kind: str) -> list[str]: ...

    def get(self, kind: str, name: str) -> Any: ...  # an object with ``name`` and ``config`` (its attrs class)

    def default(self, kind: str) -> Any | None: ...


@attrs.frozen
class PluginChoice:
    """A plugin picked by name, with its structured config."""

    name: str
    config: Any


@attrs.frozen
class LossTerm:
    name: str
    weight: float
    config: Any


@attrs.frozen
class EnvironmentTerm:
    """One ``[[environment]]`` table: the environment column a model reads, and the environment
    encoder plugin (with its options) that turns it into a vector. None at all: the model ignores
    the environment (a blind model), though strains still differ by it."""

    name: str
    column: str
    config: Any


MissingFeatures = Literal["error", "zeros"]


@attrs.frozen
class FeatureTerm:
    """One ``[[features]]`` table: a features plugin, its options, and what a gene it gives no
    vector gets: ``error``, or ``zeros`` plus a 0/1 missing-indicator column."""

    name: str
    missing: MissingFeatures
    config: Any


@attrs.frozen
class ModelConfig:
    encoder: PluginChoice
    head: PluginChoice


Metric = Literal["pearson", "spearman", "mse", "rmse", "r2",  # a scalar group's; then a profile group's
                 "pearson_delta", "pearson_delta_top20", "mse_top20", "direction_top20", "cosine_delta"]
Tracker = Literal["tensorboard", "wandb", "mlflow", "comet_ml", "aim", "clearml", "dvclive", "swanlab", "trackio"]


@attrs.frozen
class TrainConfig:
    epochs: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    batch_size: int = attrs.field(default=256, validator=attrs.validators.ge(1))
    eval_batch_size: int = attrs.field(default=2048, validator=attrs.validators.ge(1))
    lr: float = attrs.field(default=1e-3, validator=attrs.validators.gt(0.0))
    weight_decay: float = attrs.field(default=0.01, validator=attrs.validators.ge(0.0))
    scheduler: Literal["cosine", "linear", "constant"] = "cosine"
    warmup_fraction: float = attrs.field(default=0.05, validator=attrs.validators.and_(
        attrs.validators.ge(0.0), attrs.validators.lt(1.0)))
    grad_clip: float = attrs.field(default=1.0, validator=attrs.validators.ge(0.0))  # 0 = off
    grad_accum: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    select: str = "val.loss"  # model selection: "loss" or "<split>.<label>.<metric>"
    patience: int = attrs.field(default=0, validator=attrs.validators.ge(0))  # stop after this many epochs
    # without a better `select` value; 0 = run every epoch
    labels: list[str] = attrs.field(factory=list)  # labels to train on; empty = all
    train_eval_rows: int = attrs.field(default=20_000, validator=attrs.validators.ge(0))
    num_workers: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    # torch's CPU threads per process: 1 gives the same numbers on every machine and is fastest where other
    # processes share the cores; 0 = torch's default (one per core)
    threads: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    cpu: bool = False  # force CPU even when a GPU is present
    deterministic: bool = True  # torch deterministic kernels: a rerun (or a resume) repeats the numbers
    progress: bool = True
    # Accelerate's experiment trackers: per-epoch metrics, the resolved config, the run's name
    log_with: list[Tracker] = attrs.field(factory=list)

    def __attrs_post_init__(self) -> None:
        parts = self.select.split(".")
        ok = self.select == "val.loss" or (len(parts) == 3 and parts[0] == "val" and parts[2] in Metric.__args__)
        if not ok:
            raise ValueError(
                f"'select' must be 'val.loss' or 'val.<group>.<metric>' (a label's name for a group of one) "
                f"with metric one of "
                f"{', '.join(Metric.__args__)}; got {self.select!r}"
            )


@attrs.frozen
class RunConfig:
    graph: PluginChoice
    phenotypes: PluginChoice
    model: ModelConfig
    perturbation: PluginChoice  # filled in by parse_config from the registry's default op when absent
    split: SplitConfig = attrs.field(factory=SplitConfig)
    loss: list[LossTerm] = attrs.field(factory=list)
    features: list[FeatureTerm] = attrs.field(factory=list)
    environment: list[EnvironmentTerm] = attrs.field(factory=list)
    train: TrainConfig = attrs.field(factory=TrainConfig)
    seed: int = 0
    name: str = ""


# Plugin tables: (dotted path, plugin kind). A kind with a declared default plugin may be left out.
PLUGIN_SECTIONS = (
    ("graph", "graph"),
    ("phenotypes", "phenotypes"),
    ("perturbation", "perturbation"),
    ("model.encoder", "encoder"),
    ("model.head", "head"),
)


def make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    register_strict_hooks(conv)
    passthrough = lambda v, t: v  # noqa: E731 - already structured by the plugin's own class
    for cls in (PluginChoice, LossTerm, FeatureTerm, EnvironmentTerm):
        conv.register_structure_hook(cls, passthrough)
    conv.register_unstructure_hook(PluginChoice, lambda c: _plugin_table(conv, c.name, c.config))
    conv.register_unstructure_hook(
        LossTerm, lambda t: {**_plugin_table(conv, t.name, t.config), "weight": t.weight}
    )
    conv.register_unstructure_hook(
        FeatureTerm, lambda t: {**_plugin_table(conv, t.name, t.config), "missing": t.missing}
    )
    conv.register_unstructure_hook(
        EnvironmentTerm, lambda t: {**_plugin_table(conv, t.name, t.config), "column": t.column}
    )
    return conv


def _plugin_table(conv: cattrs.Converter, name: str, config: Any) -> dict:
    body = conv.unstructure(config) if config is not None else {}
    return {"name": name, **body}


converter = make_converter()


def _format_exception(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        valid = [f.name for f in attrs.fields(exc.cl)] if attrs.has(exc.cl) else []
        parts = []
        for key in sorted(exc.extra_fields):
            hint = difflib.get_close_matches(key, valid, n=1)
            parts.append(f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
        return "; ".join(parts) + (f"; valid keys: {', '.join(valid)}" if valid else "")
    if isinstance(exc, KeyError):
        return "required key missing"
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return default_format_exception(exc, type_)


def _messages(exc: Exception, prefix: str) -> list[str]:
    if not isinstance(exc, (ClassValidationError, IterableValidationError)):
        return [f"{prefix or '(top level)'}: {str(exc).replace(KEY, prefix or '...')}"]
    out = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_format_exception):
        msg, _, where = line.rpartition(" @ ")
        path = where.removeprefix("$").removeprefix(".")
        field = re.match(r"'(\w+)' must", msg)  # an attrs validator names its field; put it in the path
        full = ".".join(p for p in (prefix, path, field and field[1]) if p).replace(".[", "[")
        out.append(f"{full or '(top level)'}: {msg.replace(KEY, full or '...')}")
    return out


def structure(data: Any, cls: type, prefix: str, errors: list[str]) -> Any:
    """Structure ``data`` into ``cls``; on failure append path-named messages and return None."""
    if not isinstance(data, dict):
        errors.append(f"{prefix}: expected a table, got {type(data).__name__} {data!r}")
        return None
    try:
        return converter.structure(data, cls)
    except Exception as exc:  # noqa: BLE001 - collected and reported together
        errors.extend(_messages(exc, prefix))
        return None


def _describe_value(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"an array {value!r}"
    return f"{type(value).__name__} {value!r}"


def _pick_plugin(table: Any, kind: str, path: str, registry: PluginCatalog, errors: list[str]) -> PluginChoice | None:
    if not isinstance(table, dict):
        errors.append(f"{path}: expected a table with a 'name' key, got {type(table).__name__}")
        return None
    body = dict(table)
    name = body.pop("name", None)
    if not isinstance(name, str):
        choices = ", ".join(registry.names(kind))
        errors.append(f"{path}.name: required string naming a {kind} plugin; choose one of: {choices}")
        return None
    try:
        plugin = registry.get(kind, name)
    except LookupError as exc:
        errors.append(f"{path}.name: {exc}")
        return None
    config = structure(body, plugin.config, path, errors)
    return PluginChoice(plugin.name, config) if config is not None else None


def choose_plugin(table: Any, kind: str, path: str, registry: PluginCatalog, source: str = "<config>") -> PluginChoice:
    """A plugin table nested in another plugin's options (a composed graph's sources), structured and
    checked as a top-level one; ``path`` names it in errors (``graph.sources[1]``)."""
    errors: list[str] = []
    choice = _pick_plugin(table, kind, path, registry, errors)
    if errors:
        raise ConfigError(source, errors)
    return choice


def parse_config(raw: dict, source: str = "<config>", *, registry: PluginCatalog) -> RunConfig:
    """Turn a TOML document into a RunConfig, or raise ConfigError listing every problem."""
    raw = copy.deepcopy(raw)
    errors: list[str] = []
    for path, kind in PLUGIN_SECTIONS:
        *parents, leaf = path.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else {}
        if leaf not in node:
            default = registry.default(kind)
            if default is None:
                errors.append(f"{path}: missing table [{path}]; choose a {kind} plugin: "
                              f"{', '.join(registry.names(kind))}")
                continue
            node[leaf] = {"name": default.name}
        node[leaf] = _pick_plugin(node[leaf], kind, path, registry, errors)
    default_loss = registry.default("loss")
    if "loss" not in raw and default_loss is None:
        errors.append(f"loss: missing [[loss]]; no installed loss plugin is a default; choose one of: "
                      f"{', '.join(registry.names('loss'))}")
    losses = raw.get("loss", [{"name": default_loss.name}] if default_loss else [])
    if not isinstance(losses, list):
        errors.append("loss: expected an array of tables ([[loss]] name = ..., weight = ...)")
        losses = None
    elif not losses and "loss" in raw:
        default = f"the default, one {default_loss.name} term" if default_loss else "a default, if a plugin declares one"
        errors.append(f"loss: empty array: give at least one [[loss]] term (or leave 'loss' out for {default})")
    terms = []
    for i, table in enumerate(losses or []):
        path = f"loss[{i}]"
        body = dict(table) if isinstance(table, dict) else table
        weight = body.pop("weight", 1.0) if isinstance(body, dict) else 1.0
        weight_ok = type(weight) in (int, float)
        if not weight_ok:
            errors.append(f"{path}.weight: expected float, got {_describe_value(weight)}")
        choice = _pick_plugin(body, "loss", path, registry, errors)
        if choice is not None and weight_ok:
            terms.append(LossTerm(choice.name, float(weight), choice.config))
    raw["loss"] = terms
    raw["features"] = _features(raw.get("features", []), registry, errors)
    raw["environment"] = _environment(raw.get("environment", []), registry, errors)
    if errors:  # plugin problems first: the rest may depend on them
        raise ConfigError(source, errors)
    config = structure(raw, RunConfig, "", errors)
    if errors:
        raise ConfigError(source, errors)
    return config


def _features(tables: Any, registry: PluginCatalog, errors: list[str]) -> list[FeatureTerm]:
    """``[[features]]`` tables: a plugin each, plus the core's ``missing`` policy."""
    if not isinstance(tables, list):
        errors.append("features: expected an array of tables ([[features]] name = ..., missing = ...)")
        return []
    terms = []
    for i, table in enumerate(tables):
        path = f"features[{i}]"
        body = dict(table) if isinstance(table, dict) else table
        missing = body.pop("missing", "error") if isinstance(body, dict) else "error"
        if missing not in MissingFeatures.__args__:
            errors.append(f"{path}.missing: expected one of {', '.join(map(repr, MissingFeatures.__args__))}, "
                          f"got {_describe_value(missing)}")
        choice = _pick_plugin(body, "features", path, registry, errors)
        if choice is not None and missing in MissingFeatures.__args__:
            terms.append(FeatureTerm(choice.name, missing, choice.config))
    return terms


def _environment(tables: Any, registry: PluginCatalog, errors: list[str]) -> list[EnvironmentTerm]:
    """``[[environment]]`` tables: an environment encoder plugin each, plus the column it reads."""
    if not isinstance(tables, list):
        errors.append("environment: expected an array of tables ([[environment]] column = ..., name = ...)")
        return []
    terms, seen = [], set()
    for i, table in enumerate(tables):
        path = f"environment[{i}]"
        body = dict(table) if isinstance(table, dict) else table
        column = body.pop("column", None) if isinstance(body, dict) else None
        if not isinstance(column, str) or not column:
            errors.append(f"{path}.column: required string naming an environment column of the phenotypes")
        elif column in seen:
            errors.append(f"{path}.column: {column!r} is read by an earlier [[environment]] term already")
        seen.add(column)
        choice = _pick_plugin(body, "environment", path, registry, errors)
        if choice is not None and isinstance(column, str) and column:
            terms.append(EnvironmentTerm(choice.name, column, choice.config))
    return terms


def apply_override(raw: dict, assignment: str) -> None:
    """Apply ``section.key=value``; the value is read as TOML (``3``, ``0.1``, ``"x"``, ``[1, 2]``),
    falling back to a bare string."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError("--set", [f"{assignment!r}: expected section.key=value"])
    try:
        value = tomli.loads(f"v = {text}")["v"]
    except tomli.TOMLDecodeError:
        value = text
    try:
        assign(raw, key, value)  # the same key paths as a sweep's space: loss[1].weight
    except KeyPathError as exc:
        raise ConfigError("--set", [str(exc)]) from None


def read_toml(path: str | Path) -> dict:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomli.load(f)
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"]) from None
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"TOML syntax error: {exc}"]) from None


def load_config(path: str | Path, overrides: list[str] = (), *, registry: PluginCatalog) -> RunConfig:
    raw = read_toml(path)
    for assignment in overrides:
        apply_override(raw, assignment)
    return parse_config(raw, source=str(path), registry=registry)


def _drop_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _drop_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_drop_none(v) for v in obj]
    return obj


def to_toml(config: RunConfig) -> str:
    """The resolved config (every default filled in), as TOML that parses back to an equal config."""
    return tomli_w.dumps(_drop_none(converter.unstructure(config)))
