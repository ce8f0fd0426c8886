"""Batches of table rows: the op turns rows into encoder inputs, the core adds rows and targets."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cellreg.data.phenotypes import PhenotypeTable


class RowCollator(Protocol):
    """What :class:`Collate` needs of a perturbation op (:class:`cellreg.plugin_api.contracts.PerturbationOp`
    meets it): the data layer names no contract, so the contracts can build on it."""

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> dict[str, torch.Tensor]: ...


class Rows(Dataset):
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return int(self.rows[i])


class Collate:
    """rows -> op inputs + ``row`` [B] + ``target`` [B, L] (standardized, NaN = missing; only when
    ``targets`` are given: new strains being scored have none)."""

    def __init__(self, table: PhenotypeTable, op: RowCollator, targets: np.ndarray | None = None,
                 environment: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.table, self.op, self.targets = table, op, targets
        self.environment = environment  # (values [S, C], codes [S, C]) encoded for the model, or None

    def __call__(self, rows: list[int] | np.ndarray) -> dict[str, torch.Tensor]:
        rows = np.asarray(rows, dtype=np.int64)
        batch = self.op.collate(self.table, rows)
        batch["row"] = torch.from_numpy(rows)
        if self.targets is not None:
            batch["target"] = torch.from_numpy(self.targets[rows])
        if self.environment is not None:
            batch["env_values"] = torch.from_numpy(self.environment[0][rows])
            batch["env_codes"] = torch.from_numpy(self.environment[1][rows]).long()  # int32 kept: 20 M strains
        return batch


class EpochShuffle(Sampler):
    """A permutation fixed by (seed, epoch): a resumed run sees exactly the batches it would have."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())


def loader(rows: np.ndarray, collate: Collate, batch_size: int, num_workers: int,
           shuffle_seed: int | None = None) -> DataLoader:
    sampler = EpochShuffle(len(rows), shuffle_seed) if shuffle_seed is not None else None
    return DataLoader(Rows(rows), batch_size=batch_size, sampler=sampler, collate_fn=collate,
                      num_workers=num_workers, persistent_workers=num_workers > 0)
