"""One trained run as a scorer of design blocks, in raw label units, built by the same
:class:`Pipeline` and :class:`Collate` as ``cellreg run`` and ``predict``.

A wild-type encoder (``Encoder.per_strain = False``) computes F(G) independently of the strains,
so its state is computed once and every block costs only the head; a per-strain encoder runs on
every block, as in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cellreg.config import ConfigError
from cellreg.data.batches import Collate
from cellreg.data.environment_schema import constant_environment
from cellreg.data.phenotypes import PhenotypeTable
from cellreg.plugin_api.contracts import Batch, CellState
from cellreg.plugin_api.registry import Registry
from cellreg.training.checkpoint import load_weights
from cellreg.training.pipeline import Pipeline
from cellreg.training.rundir import RunDir
from cellreg.training.scoring import explain_columns, read_added_features


class RunScorer:
    def __init__(self, run_dir: str | Path, registry: Registry | None = None, weights: str = "best",
                 device: torch.device | str = "cpu", environment: dict[str, str] | None = None) -> None:
        self.dir = RunDir(Path(run_dir))
        self.pipe = pipe = Pipeline.from_run(self.dir, registry)
        # the condition every design is scored under (--environment), encoded once: checked, and any
        # notice (a value outside the training range) given, before any design is scored
        self.condition: tuple[np.ndarray, np.ndarray] | None = None
        if pipe.environment or environment:
            try:
                one = constant_environment(pipe.environment, environment or {}, 1, "--environment")
                self.condition = pipe.environment.encode(one, 1, "--environment") if pipe.environment else None
            except ValueError as exc:
                raise ConfigError(str(self.dir.root), [str(exc)]) from None
        self.model = pipe.model
        load_weights(self.model, self.dir.best if weights == "best" else self.dir.last)
        self.model.eval().to(device)
        self.device = torch.device(device)
        self.labels = pipe.label_names
        self.scaler = pipe.scaler
        self.encoder, self.head = self.model.encoder, self.model.head
        self.per_strain = self.encoder.per_strain
        self._state: CellState | None = None

    @property
    def genes(self) -> tuple[str, ...]:
        return self.pipe.graph.genes

    def add_genes(self, names: tuple[str, ...], features: str | Path | None, where: str) -> None:
        """Genes the organism never had, as ``predict`` appends them; refused with the reason
        (the encoder cannot add genes, or was trained without the features given)."""
        if not names:
            return
        name = self.pipe.config.model.encoder.name
        if not self.encoder.can_add_genes:
            raise ConfigError(where, [f"genes {', '.join(names[:5])} are not in the organism and encoder {name!r} "
                                      f"of run {self.dir.root} cannot add genes"])
        values = read_added_features(Path(features), names, self.pipe.features) if features else None
        try:
            self.encoder.add_genes(len(names), None if values is None else values.to(self.device))
        except ValueError as exc:
            raise ConfigError(str(features or where), [f"run {self.dir.root}: {exc}"]) from None
        self._state = None

    def batch(self, table: PhenotypeTable) -> Batch:
        condition = None if self.condition is None else tuple(np.repeat(a, len(table), 0) for a in self.condition)
        batch = Collate(table, self.pipe.op, environment=condition)(np.arange(len(table)))
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def state(self, batch: Batch) -> CellState:
        if self.per_strain:
            return self.encoder(batch)
        if self._state is None:  # F(G): the same for every block
            self._state = self.encoder(batch)
        return self._state

    @torch.no_grad()
    def __call__(self, table: PhenotypeTable) -> torch.Tensor:
        """[B, L] raw predictions of the block's designs."""
        batch = self.batch(table)
        return self.scaler.inverse(self.model.predict(self.state(batch), batch).values.float())  # as predict does

    @torch.no_grad()
    def explain(self, table: PhenotypeTable, k: int) -> dict[str, list[str]]:
        """Per mechanism, a ``name:weight;...`` cell per design, as ``predict --explain`` writes them."""
        batch = self.batch(table)
        parts = [p for p in (self.encoder, self.head) if p.explains]
        return explain_columns(parts, self.state(batch), batch, k, table.gene_names)

    @property
    def explains(self) -> bool:
        return self.encoder.explains or self.head.explains
