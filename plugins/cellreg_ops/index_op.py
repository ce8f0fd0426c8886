"""Index-only perturbation op: a strain travels as padded gene indices, type codes and a mask.

O(|S|) per strain and nothing graph-sized: the form used by wild-type encoders (design §2).
"""

from __future__ import annotations

import numpy as np
import torch

from cellreg import Batch, PerturbationOp, PhenotypeTable


def pad_sets(table: PhenotypeTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``genes``, ``kinds`` as [B, K] (0-padded) and ``mask`` [B, K], K = largest set among ``rows``."""
    starts = table.offsets[rows]
    sizes = table.offsets[rows + 1] - starts
    k = max(int(sizes.max(initial=0)), 1)
    slot = np.arange(k)
    mask = slot[None, :] < sizes[:, None]
    pos = np.where(mask, starts[:, None] + slot[None, :], 0)
    if len(table.genes) == 0:
        zeros = np.zeros(mask.shape, np.int64)
        return zeros, zeros, mask
    genes = np.where(mask, table.genes[pos], 0)
    kinds = np.where(mask, table.kinds[pos], 0)
    return genes, kinds, mask


class IndexOp(PerturbationOp):
    """Nothing to precompute: the wild-type graph is the encoder's business."""

    def strain_size(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Nodes and edges of each strain's encoder input: the set's genes, no edges."""
        nodes = batch["mask"].sum(1)
        return nodes, torch.zeros_like(nodes)

    def collate(self, table: PhenotypeTable, rows: np.ndarray) -> Batch:
        genes, kinds, mask = pad_sets(table, rows)
        return {
            "genes": torch.from_numpy(genes.astype(np.int64)),
            "kinds": torch.from_numpy(kinds.astype(np.int64)),
            "mask": torch.from_numpy(mask),
        }
