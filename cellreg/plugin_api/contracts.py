"""The extension points: one base class per plugin kind, with every optional hook as a no-op default.

The registry builds a plugin with ``factory(config, context)``, where ``config`` is the plugin's own
attrs config instance, and checks that the object subclasses its kind's base class here (or, for the
data sources, in :mod:`cellreg.plugin_api.sources`) and has what the kind requires
(:func:`cellreg.plugin_api.conformance.contract_problems`). The core calls the hooks below
directly, never by looking for attributes.

Shapes: N genes in the vocabulary, B strains in a batch, K = the largest perturbation set in the
batch, L labels, d the encoder width.

Two model forms fit the same contracts (design §2):

* wild-type encoders (``Encoder.per_strain = False``) compute F(G) once per training step,
  whatever B is; the head then reads the perturbation set from the batch: ``y = g(F(G), S)``;
* per-strain encoders (``per_strain = True``) see each strain's perturbed graph (explicit copies,
  masks or k-hop subgraphs made by the PerturbationOp) and return per-strain states, so a head can
  compute ``y = h(F(G) - F(G \\ S))``.

A **batch** is a ``dict[str, Tensor]`` (so Accelerate moves and gathers it without pickling).
The core always adds ``row`` [B] long (table rows) and, in training, ``target`` [B, L] float
(standardized labels, NaN = missing). The index-only op adds ``genes`` [B, K] long (0-padded),
``kinds`` [B, K] long (:class:`~cellreg.data.phenotypes.Perturbation` codes) and ``mask`` [B, K]
bool (True = real entry); other ops add their own keys and document them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence, TypeVar

import attrs
import numpy as np
import torch
from torch import nn

from cellreg.data.phenotypes import PhenotypeTable
from cellreg.plugin_api.sources import Context, GraphSource, PhenotypeSource, StrainColumns

__all__ = ["Batch", "CellState", "Context", "Encoder", "EnvironmentEncoder", "GraphSource", "Loss", "PerturbationHead",
           "PerturbationOp", "PhenotypeSource", "Prediction", "StrainColumns"]

Batch = dict[str, torch.Tensor]
R = TypeVar("R")


@attrs.define
class CellState:
    """What an encoder hands the head, and what the loss terms see of the forward pass.

    ``genes``: [N, d] (wild-type encoders) or [B, N, d] (per-strain encoders), or None;
    ``cell``: [d] or [B, d] whole-cell vector, or None;
    ``extras``: typed records the encoder hands on to a head or loss term of its own family (an
    auxiliary loss's inputs, a training schedule's factors), found by class with :meth:`extra`,
    so no second forward is ever run and no string key is shared;
    ``strain_embedding``: [B, e] per-strain embedding, filled in by the core from the head's
    :class:`Prediction` before the loss terms run (contrastive terms read it);
    ``aux``: tensors kept for inspection (tests, notebooks); no other plugin or the core reads it.
    """

    genes: torch.Tensor | None = None
    cell: torch.Tensor | None = None
    extras: tuple[Any, ...] = ()
    strain_embedding: torch.Tensor | None = None
    aux: dict[str, Any] = attrs.field(factory=dict)

    def extra(self, record: type[R]) -> R | None:
        """The first record of class ``record`` in :attr:`extras`, or None."""
        return next((r for r in self.extras if isinstance(r, record)), None)


@attrs.frozen
class Prediction:
    """What a head returns: ``values`` [B, L] in standardized units, and optionally the
    ``strain_embedding`` [B, e] the values were read out from."""

    values: torch.Tensor
    strain_embedding: torch.Tensor | None = None


class PerturbationOp:
    """Turns a batch of strains into encoder inputs. Complete when constructed: its factory gets the
    graph in ``context.graph`` and builds any cache (an incidence matrix, index maps) there.

    ``collate`` runs per batch, possibly in DataLoader workers (so the op must pickle), and returns
    the op's batch keys as CPU tensors. It must never copy the wild-type graph unless explicit
    copies are its whole point.
    """

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch:
        raise NotImplementedError

    def strain_size(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(nodes [B], edges [B]) of each strain's encoder input, which ``cellreg bench`` reports;
        None when the op builds no per-strain graph."""
        return None


class TrainingHooks:
    """Hooks the trainer calls on the encoder, the head and every loss term."""

    def on_epoch_start(self, epoch: int, epochs: int) -> None:
        """Before each training epoch (0-based, also after a resume), e.g. to switch from
        pretraining to joint training."""


class Explains:
    """Attention a model part can show per strain (``cellreg predict --explain``)."""

    @property
    def explains(self) -> bool:
        """Whether this part overrides :meth:`explain`."""
        return type(self).explain is not Explains.explain

    def explain(self, state: CellState, batch: Batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per mechanism name: (gene indices [B, k], weights [B, k]) of the k genes weighed most."""
        return {}

    def explained_names(self, mechanism: str) -> Sequence[str] | None:
        """What the indices :meth:`explain` gives for ``mechanism`` count: None for the genes, else
        the names of the items (e.g. ontology terms)."""
        return None


class Encoder(TrainingHooks, Explains, nn.Module):
    """F: ``forward(batch) -> CellState``.

    Graph tensors are buffers taken from ``context.graph`` at construction (built once, moved
    with the module). ``dim`` is the width d of its states (set it in ``__init__``);
    ``per_strain`` says which form it is (see the module docstring).
    """

    dim: int
    per_strain: ClassVar[bool] = False
    provides: ClassVar[tuple[type, ...]] = ()  # record classes its states carry in CellState.extras

    def forward(self, batch: Batch) -> CellState:
        raise NotImplementedError

    @property
    def can_add_genes(self) -> bool:
        """Whether this encoder overrides :meth:`add_genes`."""
        return type(self).add_genes is not Encoder.add_genes

    def epoch_diagnostics(self) -> dict[str, Any]:
        """Called in eval mode after each epoch's validation; the entries join that epoch's line of
        ``metrics.jsonl``."""
        return {}

    def add_genes(self, count: int, features: torch.Tensor | None = None) -> None:
        """Append ``count`` genes the organism never had (``features`` [count, F] where the encoder
        takes gene features), so new strains can include them."""
        raise NotImplementedError(f"{type(self).__name__} cannot add genes")


class PerturbationHead(TrainingHooks, Explains, nn.Module):
    """g: ``forward(state, batch) -> Prediction`` of [B, L] values in standardized units.

    Vectorised over the batch: no Python loop over strains or genes, any mix of set sizes. A head
    never changes the encoder's state; what it has for the loss terms goes in the Prediction.

    The environment (design §7d) reaches every family through this one contract: a head with
    ``takes_environment`` returns a ``strain_embedding`` of width ``embedding_dim``, and the core's
    environment readout (:mod:`cellreg.training.environment`) adds ``r([embedding ‖ environment])``
    to its values, so the effect of a set can depend on the condition. A head that cannot (no
    per-strain embedding) sets ``takes_environment = False``, and a config that gives its model
    ``[[environment]]`` columns is refused before any data loads.
    """

    takes_environment: ClassVar[bool] = True
    embedding_dim: int | None = None  # the strain embedding's width: set in __init__ to take an environment

    def forward(self, state: CellState, batch: Batch) -> Prediction:
        raise NotImplementedError


class EnvironmentEncoder(nn.Module):
    """One environment column -> a vector: ``forward(values [B] float, codes [B] long) -> [B, dim]``.

    Its factory finds the column it encodes in ``context.environment_column``
    (:class:`~cellreg.data.environment_schema.EnvColumnSchema`: kind, unit, the training rows'
    categories and numeric statistics). ``values`` hold the numeric value or dose (NaN = unknown),
    ``codes`` the category or compound, with ``len(categories)`` for a value never seen in training.
    ``kinds`` names the column kinds it can encode; the core checks it against the column.
    """

    kinds: ClassVar[tuple[str, ...]] = ()  # EnvKind values: "numeric", "categorical", "dose"
    dim: int

    def forward(self, values: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Loss(TrainingHooks, nn.Module):
    """One term of the objective (it may own parameters, which get trained):
    ``forward(pred [B, L], target [B, L], state, batch) -> scalar``.

    Targets are standardized and NaN where unmeasured: a term must mask them per label and stay
    finite when a label column is entirely missing.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor, state: CellState, batch: Batch) -> torch.Tensor:
        raise NotImplementedError
