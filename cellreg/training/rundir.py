"""The run directory: every file a run writes, the ``run.json`` schema, and the one "is this a run" check.

A run directory holds ``config.toml`` (the resolved config), ``run.json`` (:class:`RunInfo`),
``split.npz``, ``metrics.jsonl`` (one line per epoch), ``metrics.json`` (the final report),
``weights/best|last.safetensors``, ``checkpoint/`` (what ``--resume`` needs), ``plots/``, with
``train.log_with``, ``tracking/``, and ``provenance.json`` when the phenotype source records where its
strains came from (the ``store`` source: studies, source files and their sha256).
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import cattrs
import numpy as np

from cellreg.config.errors import ConfigError, DataError
from cellreg.data.label_groups import LabelGroup, complete_groups
from cellreg.data.splits import Split, save_npz
from cellreg.toolkit.atomic import atomic_write
from cellreg.training.checkpoint import write_json

SCHEMA_VERSION = 2
"""Of ``run.json``; files written before the field existed are version 1 (2 adds ``max_strain_size``)."""

_converter = cattrs.Converter(forbid_extra_keys=True)


@attrs.frozen
class RunInfo:
    """What a trained run needs to be scored, compared or resumed without its training data."""

    name: str
    encoder: str
    head: str
    perturbation: str
    graph_fingerprint: str
    data_fingerprint: str
    split_key: str
    split: str
    split_sizes: dict[str, int]
    labels: list[str]
    scaler: dict[str, list[float]]
    base_dir: str  # relative data paths of the config resolve against this folder
    num_processes: int
    cellreg_version: str
    max_strain_size: int | None = None  # most genes perturbed in one strain of the training table (schema 2)
    coverage: dict = attrs.field(factory=dict)  # the training rows' set sizes and kinds (cellreg.training.coverage)
    environment: list[dict] = attrs.field(factory=list)  # the model's environment columns (EnvironmentSchema)
    # the label groups (LabelGroup.to_dict) where the table declared any; empty: one scalar group per label
    label_groups: list[dict] = attrs.field(factory=list)
    schema_version: int = SCHEMA_VERSION

    def groups(self) -> tuple[LabelGroup, ...]:
        """The run's label groups, complete (every label in one)."""
        return complete_groups([LabelGroup.from_dict(d) for d in self.label_groups], self.labels)


class RunDir:
    """The files of one run; see docs/config.md for what each holds."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.config = self.root / "config.toml"
        self.info = self.root / "run.json"
        self.split = self.root / "split.npz"
        self.history = self.root / "metrics.jsonl"
        self.metrics = self.root / "metrics.json"
        self.best = self.root / "weights" / "best.safetensors"
        self.last = self.root / "weights" / "last.safetensors"
        self.checkpoint = self.root / "checkpoint"
        self.progress = self.checkpoint / "progress.json"
        self.plots = self.root / "plots"
        self.tracking = self.root / "tracking"  # train.log_with: the trackers' local files (TensorBoard events)
        self.provenance = self.root / "provenance.json"  # the phenotype source's, when it has one (a study store's)

    def is_run(self) -> bool:
        return self.info.exists()

    def refuse_unless_new(self, config_toml: str) -> None:
        """A fresh run writes only into a new or empty folder: a folder holding a run (this config's
        or another's) or anything else is refused before anything is written."""
        if not self.root.exists():
            return
        if self.is_run():
            same = self.config.exists() and self.config.read_text() == config_toml
            what = "this config; continue it with --resume" if same else \
                "another config (its config.toml differs); continue that one with --resume"
            raise ConfigError(str(self.root), [f"already holds a run of {what}, or choose another --out "
                                               "(nothing was overwritten)"])
        entries = sorted(p.name for p in self.root.iterdir())
        if entries:
            shown = ", ".join(entries[:5]) + (f", ... ({len(entries)} entries)" if len(entries) > 5 else "")
            raise ConfigError(str(self.root), [f"is not empty ({shown}) and holds no run; a run is written only "
                                               "into a new or empty folder: choose another --out (nothing was "
                                               "overwritten)"])

    def require(self, doing: str = "") -> "RunDir":
        """Self, or a ConfigError naming the folder when it holds no run."""
        if not self.is_run():
            raise ConfigError(str(self.root), [f"not a run directory (no run.json){'; ' + doing if doing else ''}"])
        return self

    def read_info(self) -> RunInfo:
        raw = json.loads(self.require().info.read_text())
        version = raw.setdefault("schema_version", 1)
        if version > SCHEMA_VERSION:
            raise ConfigError(str(self.info), [f"run.json schema version {version} is newer than this cellreg "
                                               f"understands ({SCHEMA_VERSION}); upgrade cellreg"])
        try:
            return _converter.structure(raw, RunInfo)
        except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
            problems = cattrs.transform_error(exc, path="run.json") if isinstance(exc, cattrs.BaseValidationError) \
                else [str(exc)]
            raise DataError(str(self.info), [f"not a valid run.json: {'; '.join(problems[:4])}"]) from None

    def write_info(self, info: RunInfo) -> None:
        write_json(self.info, _converter.unstructure(info))

    def write_provenance(self, provenance: dict) -> None:
        """What :meth:`PhenotypeSource.provenance` says the strains came from (studies, files, sha256)."""
        write_json(self.provenance, provenance)

    def finished(self) -> bool:
        return self.progress.exists()

    def read_split(self) -> Split:
        with np.load(self.split, allow_pickle=False) as z:
            return Split(z["train"], z["val"], z["test"], str(z["key"]))

    def write_split(self, split: Split, dropped: dict[str, np.ndarray] | None = None) -> None:
        """The split, and with ``[split] held_out_edges = "drop"`` the positions of the edges each
        relation lost (``dropped:<relation>``), so scoring rebuilds the graph the model was trained on."""
        edges = {f"dropped:{name}": np.asarray(p, np.int64) for name, p in (dropped or {}).items()}
        save_npz(self.split, train=split.train, val=split.val, test=split.test, key=np.array(split.key), **edges)

    def read_dropped_edges(self) -> dict[str, np.ndarray]:
        if not self.split.exists():
            return {}
        with np.load(self.split, allow_pickle=False) as z:
            return {k[len("dropped:"):]: z[k] for k in z.files if k.startswith("dropped:")}

    def write_config(self, text: str) -> None:
        atomic_write(self.config, lambda tmp: Path(tmp).write_text(text))
