"""Score a perturbation table with a trained run, in raw label units: ``cellreg predict``.

Works for any model family. The table is read by the run's own phenotype source
(``PhenotypeSource.read_strains``: the core's strain-table reader unless the source reads its own
way): a gene the organism never had must be marked ``addition`` and becomes an appended token for
encoders that can add genes (``Encoder.can_add_genes``); other encoders refuse it with a clear error.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import torch

from cellreg.config import ConfigError, DataError
from cellreg.data.phenotypes import Perturbation, PhenotypeTable
from cellreg.plugin_api.contracts import StrainColumns
from cellreg.plugin_api.registry import Registry
from cellreg.training.checkpoint import load_weights
from cellreg.training.coverage import Coverage
from cellreg.training.scoring import explain_columns, read_added_features
from cellreg.training.pipeline import Pipeline
from cellreg.training.rundir import RunDir
from cellreg.toolkit.atomic import atomic_write
from cellreg.training.trainer import apply_threads

log = logging.getLogger("cellreg")


@torch.no_grad()
def predict(run_dir: str | Path, table_path: str | Path, out: str | Path | None = None, *,
            genes_column: str = "genes", separator: str = "+", kinds_column: str | None = None,
            gene_columns: list[str] | None = None,
            added_features: str | Path | None = None, explain: bool = False, top: int = 10,
            weights: str = "best", batch_size: int = 1024, registry: Registry | None = None,
            overwrite: bool = False) -> Path:
    """Write one row per strain: its genes and kinds, the input's other columns, ``pred_<label>``
    and, with ``explain``, the genes each attention mechanism of the model weighs most. Returns the
    output path. Never writes over the input, nor over an existing file unless ``overwrite``."""
    table_path = Path(table_path).resolve()
    out = Path(out) if out else table_path.with_suffix(".predictions.tsv")
    _check_out(out, table_path, overwrite)
    rd = RunDir(Path(run_dir))
    pipe = Pipeline.from_run(rd, registry)
    apply_threads(pipe.config.train.threads)
    columns = StrainColumns(genes_column, separator, kinds_column, gene_columns)
    strains = pipe.read_strains(table_path, columns)
    table = strains.table
    if len(table) == 0:
        raise DataError(str(table_path), ["no strains to score (only a header line, or blank rows)"])
    coverage = Coverage.from_dict(pipe.info.coverage)  # None: a run recorded before coverage
    unseen = coverage.warning(table, str(table_path)) if coverage else _warn_outside_training(
        table, pipe.info.max_strain_size, table_path)
    if unseen:
        log.warning("%s", unseen)
    model, config = pipe.model, pipe.config
    load_weights(model, rd.best if weights == "best" else rd.last)
    model.eval()
    added = table.gene_names[pipe.graph.num_genes:]
    if added:
        if not model.encoder.can_add_genes:
            raise ConfigError(str(table_path), [f"genes {', '.join(added[:5])} are not in the organism and encoder "
                                                f"{config.model.encoder.name!r} cannot add genes"])
        features = read_added_features(Path(added_features), added, pipe.features) if added_features else None
        model.encoder.add_genes(len(added), features)
    collate, scaler = pipe.collate_for(table, str(table_path)), pipe.scaler
    explainers = [m for m in (model.encoder, model.head) if m.explains]
    if explain and not explainers:
        raise ConfigError(str(rd.root), [f"model {config.model.encoder.name}/{config.model.head.name} has no "
                                         "attention to explain"])
    preds, explained = [], {}
    for start in range(0, len(table), batch_size):
        batch = collate(np.arange(start, min(start + batch_size, len(table))))
        state = model.encoder(batch)
        preds.append(scaler.inverse(model.predict(state, batch).values.float().numpy()))
        for name, cells in (explain_columns(explainers, state, batch, top, table.gene_names) if explain
                            else {}).items():
            explained.setdefault(name, []).extend(cells)
    pred = np.concatenate(preds)
    kept = {name: cells for name, cells in strains.columns.items() if not name.startswith(("pred_", "explain_"))}
    atomic_write(out, lambda tmp: _write(Path(tmp), table, separator, pipe.label_names, pred, explained, kept))
    return out


def _check_out(out: Path, table_path: Path, overwrite: bool) -> None:
    if out.resolve() == table_path:
        raise ConfigError(str(out), ["is the table being scored; choose another --out (nothing was written)"])
    if out.exists() and not overwrite:
        raise ConfigError(str(out), ["exists; pass --overwrite to replace it, or choose another --out "
                                     "(nothing was written)"])


def _warn_outside_training(table: PhenotypeTable, largest: int | None, path: Path) -> None:
    """A strain with more perturbed genes than any training strain is scored by extrapolation."""
    sizes = np.diff(table.offsets)
    beyond = int((sizes > largest).sum()) if largest is not None else 0
    if beyond:
        log.warning("%s: %d of %d strains perturb more genes (up to %d) than any training strain (%d): their "
                    "predictions extrapolate beyond what the model was trained on", path, beyond, len(table),
                    int(sizes.max()), largest)


def _write(out: Path, table: PhenotypeTable, separator: str, labels, pred: np.ndarray, explained: dict,
           kept: dict[str, list[str]]) -> None:
    kind_names = [k.name.lower() for k in Perturbation]
    with open(out, "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["genes", "kinds", *kept] + [f"pred_{l}" for l in labels] + [f"explain_{n}" for n in explained])
        for s in range(len(table)):
            genes, kinds = table.strain(s)
            w.writerow([separator.join(table.gene_names[g] for g in genes), separator.join(kind_names[k] for k in kinds)]
                       + [kept[h][s] for h in kept]
                       + [f"{v:.9g}" for v in pred[s]] + [explained[n][s] for n in explained])  # .9g: float32 exactly
