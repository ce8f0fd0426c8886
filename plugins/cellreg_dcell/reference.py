"""DCell term by term, as a direct reading of the paper: the correctness oracle of the level-batched
encoder and the "before" of benchmarks/dcell_bench.py. Never used in training.

It reads the hierarchy itself (children in ascending order, then direct genes ascending, as the
layout does) and walks the terms in level order, one small linear + tanh + batch norm and one
auxiliary read-out per term. ``from_encoder`` copies a level-batched encoder's parameters term by
term, so both compute the same function.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cellreg import Batch
from cellreg_dcell.encoder import BatchNorm, DCellEncoder


class TermByTermDCell(nn.Module):
    def __init__(self, encoder: DCellEncoder) -> None:
        super().__init__()
        h = encoder.hierarchy
        self.num_genes = h.num_genes
        parent, child = h.parent_child
        gene, term = h.annotations
        self.order = [int(t) for t in np.argsort(h.levels, kind="stable")]
        self.kids = [sorted(child[parent == t].tolist()) for t in range(h.num_terms)]
        self.genes = [torch.from_numpy(np.sort(gene[term == t])) for t in range(h.num_terms)]
        self.roots = h.roots.tolist()
        self.root_set = set(self.roots)
        self.linear, self.norm, self.aux = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        modules = [m for level in encoder.levels for m in level]
        where = {int(t): (m, j) for m, b in zip(modules, encoder.layout.blocks) for j, t in enumerate(b.terms)}
        for t in range(h.num_terms):
            block, j = where[t]
            width = int(encoder.layout.widths[t])
            inputs = max(sum(int(encoder.layout.widths[c]) for c in self.kids[t]) + len(self.genes[t]), 1)
            o = block.weight.shape[1]
            lin, bn, aux = nn.Linear(inputs, width), BatchNorm(width), nn.Linear(width, block.aux_weight.shape[2])
            with torch.no_grad():
                lin.weight.copy_(block.weight[j, :width, :inputs])
                lin.bias.copy_(block.bias[j, :width])
                s = slice(j * o, j * o + width)
                bn.weight.copy_(block.norm.weight[s])
                bn.bias.copy_(block.norm.bias[s])
                bn.running_mean.copy_(block.norm.running_mean[s])
                bn.running_var.copy_(block.norm.running_var[s])
                aux.weight.copy_(block.aux_weight[j, :width].t())
                aux.bias.copy_(block.aux_bias[j, 0])
            self.linear.append(lin)
            self.norm.append(bn)
            self.aux.append(aux)
        self.kind_state = nn.Parameter(encoder.kind_state.detach().clone())

    def forward(self, batch: Batch) -> tuple[torch.Tensor, list[torch.Tensor], dict[int, torch.Tensor]]:
        """(root neurons [B, d], aux read-outs of the non-root terms in hierarchy order, every term's neurons)."""
        genes, kinds, mask = batch["genes"], batch["kinds"], batch["mask"]
        value = torch.where(kinds == 0, torch.ones_like(self.kind_state[kinds]), self.kind_state[kinds]) * mask
        x = torch.zeros(genes.shape[0], self.num_genes, dtype=value.dtype).scatter_add(1, genes, value)
        out: dict[int, torch.Tensor] = {}
        for t in self.order:  # the loop the level-batched encoder avoids
            parts = [out[c] for c in self.kids[t]] + [x[:, self.genes[t]]]
            inputs = torch.cat(parts, 1)
            if inputs.shape[1] == 0:
                inputs = x.new_zeros(x.shape[0], 1)
            out[t] = self.norm[t](torch.tanh(self.linear[t](inputs)))
        aux = [self.aux[t](out[t]) for t in range(len(self.order)) if t not in self.root_set]
        return torch.cat([out[r] for r in self.roots], 1), aux, out

