"""The extension points. Each plugin kind implements one of these; the registry builds it with
``factory(config, context)`` where ``config`` is the plugin's own attrs config instance.

Shapes: N genes in the vocabulary, B strains in a batch, K = the largest perturbation set in the
batch, L labels, d the encoder width.

Two model forms fit the same protocols (design §2):

* wild-type encoders (``Encoder.per_strain = False``) compute F(G) once per training step,
  whatever B is; the head then reads the perturbation set from the batch: ``y = g(F(G), S)``;
* per-strain encoders (``per_strain = True``) see each strain's perturbed graph (explicit copies,
  masks or k-hop subgraphs made by the PerturbationOp) and return per-strain states, so a head can
  compute ``y = h(F(G) - F(G \\ S))``.

A **batch** is a ``dict[str, Tensor]`` (so Accelerate moves and gathers it without pickling).
The core always adds ``row`` [B] long (table rows) and ``target`` [B, L] float (standardized
labels, NaN = missing). The index-only op adds ``genes`` [B, K] long (0-padded), ``kinds`` [B, K]
long (:class:`~cellreg.data.phenotypes.Perturbation` codes) and ``mask`` [B, K] bool (True = real
entry); other ops add their own keys and document them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import attrs
import numpy as np
import torch

from cellreg.data.graph import CellGraph
from cellreg.data.phenotypes import PhenotypeTable

Batch = dict[str, torch.Tensor]


@attrs.define
class CellState:
    """What an encoder hands the head.

    ``genes``: [N, d] (wild-type encoders) or [B, N, d] (per-strain encoders), or None;
    ``cell``: [d] or [B, d] whole-cell vector, or None; ``aux``: anything a loss term needs from
    the same forward pass (attention rows, reconstructions, strain embeddings), so no second
    forward is ever run.
    """

    genes: torch.Tensor | None = None
    cell: torch.Tensor | None = None
    aux: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class Context:
    """What a factory may need besides its own config. Fields fill in as the run is assembled."""

    seed: int = 0
    base_dir: Path = Path(".")  # relative paths in a config resolve against the config's folder
    graph: CellGraph | None = None
    label_names: tuple[str, ...] = ()
    encoder: "Encoder | None" = None

    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@runtime_checkable
class GraphSource(Protocol):
    """Builds the organism's wild-type CellGraph. Runs once per run, before anything else."""

    def load(self) -> CellGraph: ...


@runtime_checkable
class PhenotypeSource(Protocol):
    """Loads strains and labels against the graph's gene vocabulary. Runs once per run.

    Unknown gene names must be counted and reported with examples (error or drop, per config).
    """

    def load(self, graph: CellGraph) -> PhenotypeTable: ...


@runtime_checkable
class PerturbationOp(Protocol):
    """Turns a batch of strains into encoder inputs.

    ``prepare`` runs once per run (e.g. build an incidence cache); ``collate`` runs per batch,
    possibly in DataLoader workers (so the op must pickle), and returns the op's batch keys as CPU
    tensors. It must never copy the wild-type graph unless explicit copies are its whole point.
    """

    def prepare(self, graph: CellGraph) -> None: ...

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch: ...

    # Optional: ``strain_size(batch) -> (nodes [B], edges [B])``, the size of each strain's encoder
    # input, which ``cellreg bench`` reports.


@runtime_checkable
class Encoder(Protocol):
    """F: an ``nn.Module``; ``forward(batch) -> CellState``.

    Graph tensors are buffers taken from ``context.graph`` at construction (built once, moved
    with the module). ``dim`` is the width d of its states; ``per_strain`` says which form it is
    (see the module docstring).
    """

    dim: int
    per_strain: bool

    def __call__(self, batch: Batch) -> CellState: ...


# Any module of the model (encoder, head, loss term, or their children) may define
# ``on_epoch_start(epoch: int, epochs: int)``; the trainer calls it before each training epoch
# (0-based, also after a resume), e.g. to switch from pretraining to joint training.
# An encoder may define ``epoch_diagnostics() -> dict``: called in eval mode after each epoch's
# validation; its entries are added to that epoch's line of ``metrics.jsonl``.


@runtime_checkable
class PerturbationHead(Protocol):
    """g: an ``nn.Module``; ``forward(state, batch) -> [B, L]`` predictions in standardized units.

    Vectorised over the batch: no Python loop over strains or genes, any mix of set sizes.
    """

    def __call__(self, state: CellState, batch: Batch) -> torch.Tensor: ...


@runtime_checkable
class Loss(Protocol):
    """One term of the objective: an ``nn.Module`` (it may own parameters, which get trained);
    ``forward(pred [B, L], target [B, L], state, batch) -> scalar``.

    Targets are standardized and NaN where unmeasured: a term must mask them per label and stay
    finite when a label column is entirely missing.
    """

    def __call__(self, pred: torch.Tensor, target: torch.Tensor, state: CellState, batch: Batch) -> torch.Tensor: ...
