"""The DCell encoder: a visible neural network over an ontology, run level by level as batched products.

Each term is a subsystem ``BN(tanh(W [children's neurons ‖ direct genes' states] + b))`` with
``width(genes in term)`` neurons, and has an auxiliary linear read-out of the labels (the root's
read-out is the head). The terms of one level are computed together (:mod:`cellreg_dcell.layout`):
a loop over depth levels and a few shape blocks per level, never over terms. Batch norm per neuron
over the whole level is batch norm per term. The input is the strain's perturbation vector: a
deleted gene's state is 1, another kind's a learned value per kind, an unperturbed gene's 0.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from cellreg import Batch, CellState, Context, Encoder, Perturbation
from cellreg.data.hierarchy import Hierarchy
from cellreg_dcell.configs import DCellConfig
from cellreg_dcell.layout import Block, build_layout
from cellreg_dcell.records import TermPredictions

NO_ONTOLOGY = ("dcell needs a CellGraph with an ontology (node type 'term' in CellGraph.extra): use [graph] name = "
               "'ontology', the synthetic graph's [graph.hierarchy] table, or a composition with either")


def _uniform(shape: tuple[int, ...], bound: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


class BatchNorm(nn.BatchNorm1d):
    """Batch norm that accepts a training batch of one strain (a dataset's last batch can be one):
    one row has no batch variance, so it is normalised with the running statistics, which it leaves
    as they are, instead of raising."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


class TermBlock(nn.Module):
    """One block of same-level terms as one batched product.

    Padding costs no masking in the forward pass: padded weights and biases start at zero, padded
    inputs read the constant-zero slot and padded neurons are read by nothing but their own
    (zero) read-out weights, so every padded parameter gets a zero gradient and stays zero.
    """

    def __init__(self, block: Block, labels: int, init_scale: float) -> None:
        super().__init__()
        n, i, o = len(block.terms), block.inputs.shape[1], block.out_width
        self.register_buffer("inputs", torch.from_numpy(block.inputs.reshape(-1)), persistent=False)
        neurons = (torch.arange(o) < torch.from_numpy(block.width).unsqueeze(1)).float()  # [n, out]
        real_inputs = (torch.arange(i) < torch.from_numpy(block.in_size).unsqueeze(1)).float()  # [n, in]
        bound = init_scale / torch.from_numpy(block.in_size).float().sqrt().view(n, 1, 1)  # nn.Linear's, per term
        self.weight = nn.Parameter(_uniform((n, o, i), bound) * neurons.unsqueeze(2) * real_inputs.unsqueeze(1))
        self.bias = nn.Parameter(_uniform((n, o), bound.view(n, 1)) * neurons)
        self.norm = BatchNorm(n * o)
        aux_bound = 1 / torch.from_numpy(block.width).float().sqrt().view(n, 1, 1)
        self.aux_weight = nn.Parameter(_uniform((n, o, labels), aux_bound) * neurons.unsqueeze(-1))
        self.aux_bias = nn.Parameter(_uniform((n, 1, labels), aux_bound))

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``states`` [B, S] (every slot written so far) -> neurons [B, n * out] and aux [n, B, L]."""
        n, o, i = self.weight.shape
        b = states.shape[0]
        x = states[:, self.inputs].view(b, n, i).transpose(0, 1)  # [n, B, in]
        y = torch.tanh(torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2)))
        z = self.norm(y.transpose(0, 1).reshape(b, n * o))  # batch norm per neuron = per term
        return z, torch.baddbmm(self.aux_bias, z.view(b, n, o).transpose(0, 1), self.aux_weight)


class DCellEncoder(Encoder):
    per_strain = True  # each strain's term states depend on its perturbations
    provides = (TermPredictions,)

    def __init__(self, config: DCellConfig, context: Context) -> None:
        super().__init__()
        graph = context.graph
        hierarchy = Hierarchy.from_extra(graph.extra, graph.num_genes)
        if hierarchy is None or hierarchy.num_terms == 0:
            raise ValueError(NO_ONTOLOGY)
        settings = config.settings()
        self.hierarchy, self.settings = hierarchy, settings
        self.layout = layout = build_layout(hierarchy, settings.width, config.waste)
        is_root = np.zeros(hierarchy.num_terms, bool)
        is_root[layout.roots] = True
        labels = max(len(context.label_names), 1)
        self.levels = nn.ModuleList(nn.ModuleList(TermBlock(b, labels, settings.init_scale) for b in level)
                                    for level in layout.levels)
        order = np.concatenate([b.terms for b in layout.blocks])  # hierarchy term of each aux row
        self.register_buffer("aux_rows", torch.from_numpy(np.flatnonzero(~is_root[order])), persistent=False)
        self.aux_terms = order[~is_root[order]]  # hierarchy term of each TermPredictions row
        roots = np.concatenate([layout.term_slots[r] for r in layout.roots])
        self.register_buffer("root_slots", torch.from_numpy(roots), persistent=False)
        slots = np.concatenate(layout.term_slots)
        self.register_buffer("neuron_slots", torch.from_numpy(slots), persistent=False)
        self.register_buffer("slot_term", torch.from_numpy(np.repeat(np.arange(hierarchy.num_terms),
                                                                     layout.widths)), persistent=False)
        self.register_buffer("term_width", torch.from_numpy(layout.widths).float(), persistent=False)
        self.kind_state = nn.Parameter(torch.ones(len(Perturbation)))  # deletion stays 1
        self.dim = len(roots)
        self.term_names = tuple(t if not hierarchy.titles or not hierarchy.titles[i] else f"{t} ({hierarchy.titles[i]})"
                                for i, t in enumerate(hierarchy.terms))

    def gene_states(self, batch: Batch) -> torch.Tensor:
        """[B, 1 + N]: slot 0 the constant zero, then each gene's perturbation state."""
        genes, kinds, mask = batch["genes"], batch["kinds"], batch["mask"]
        value = torch.where(kinds == Perturbation.DELETION, torch.ones_like(self.kind_state[kinds]),
                            self.kind_state[kinds]) * mask
        x = torch.zeros(genes.shape[0], 1 + self.layout.num_genes, dtype=value.dtype, device=value.device)
        return x.scatter_add(1, genes + 1, value)

    def run(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every term, level by level: the full buffer [B, S] and every term's aux read-out [T, B, L]."""
        aux = []
        for level in self.levels:  # depth levels; a few blocks each
            outputs = []
            for block in level:
                z, a = block(states)
                outputs.append(z)
                aux.append(a)
            states = torch.cat([states, *outputs], dim=1)
        return states, torch.cat(aux, 0)

    def forward(self, batch: Batch) -> CellState:
        states, aux = self.run(self.gene_states(batch))
        record = TermPredictions(aux[self.aux_rows], self.settings.auxiliary_weight)
        return CellState(cell=states[:, self.root_slots], extras=(record,), aux={"states": states})

    @torch.no_grad()
    def term_shift(self, states: torch.Tensor) -> torch.Tensor:
        """[B, T]: root mean square change of each term's neurons from the wild type's."""
        was = self.training
        self.eval()  # the wild type alone: running statistics, whatever the batch
        wild = self.run(torch.zeros(1, 1 + self.layout.num_genes, device=states.device))[0]
        self.train(was)
        d = (states[:, self.neuron_slots] - wild[:, self.neuron_slots]) ** 2
        total = torch.zeros(states.shape[0], self.hierarchy.num_terms, device=states.device)
        return (total.index_add_(1, self.slot_term, d) / self.term_width).sqrt()

    def explain(self, state: CellState, batch: Batch, k: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The k terms whose activation moves most from the wild type's, per strain."""
        shift = self.term_shift(state.aux["states"])
        top = shift.topk(min(k, shift.shape[1]), dim=1)
        return {"terms": (top.indices, top.values)}

    def explained_names(self, mechanism: str) -> tuple[str, ...]:
        return self.term_names
