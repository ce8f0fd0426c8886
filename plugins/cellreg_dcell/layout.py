"""Where every DCell term reads its inputs and writes its neurons, grouped for batched matrix products.

All states of a strain live in one row of a buffer: slot 0 is a constant zero (what padding reads),
slots 1..N the genes' perturbation states, then every term's neurons, level by level. The terms
of a level are grouped into blocks of similar shape; a block of n terms is one batched product
``[n, B, in] @ [n, in, out]`` whose inputs and outputs are padded to the block's largest term, and
a block is only grown while its padded size stays within ``waste`` times its real size. So a
level costs a few products, whatever its number of terms, and nothing is ever a dense
term x gene matrix of the whole ontology.
"""

from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from cellreg.data.hierarchy import Hierarchy


@attrs.frozen(eq=False)
class Block:
    terms: np.ndarray  # [n] hierarchy term indices
    inputs: np.ndarray  # [n, in_max] buffer slots each term reads (0 = padding)
    in_size: np.ndarray  # [n] real inputs per term
    width: np.ndarray  # [n] real neurons per term
    out_width: int  # padded neurons per term
    start: int  # first buffer slot of this block's n x out_width neurons

    @property
    def slots(self) -> np.ndarray:
        """[n, out_width] buffer slot of each (padded) neuron."""
        return self.start + np.arange(len(self.terms) * self.out_width).reshape(len(self.terms), self.out_width)


@attrs.frozen(eq=False)
class Layout:
    levels: list[list[Block]]
    num_genes: int
    num_slots: int
    term_slots: list[np.ndarray]  # per hierarchy term: the buffer slots of its neurons
    widths: np.ndarray  # [T] neurons per term
    roots: np.ndarray  # hierarchy indices of the root terms (their neurons are the cell state)

    @property
    def num_neurons(self) -> int:
        return int(self.widths.sum())

    @property
    def blocks(self) -> list[Block]:
        return [b for level in self.levels for b in level]


def _group(order: np.ndarray, in_size: np.ndarray, width: np.ndarray, waste: float) -> list[np.ndarray]:
    """Consecutive runs of ``order`` (sorted by width, then inputs) whose padded size stays within
    ``waste`` times the real one."""
    groups, current, real, max_in, max_w = [], [], 0, 0, 0
    for t in order:  # a loop over terms at build time, not in the forward pass
        i, w = int(in_size[t]), int(width[t])
        new_in, new_w, new_real = max(max_in, i), max(max_w, w), real + i * w
        if current and (len(current) + 1) * new_in * new_w > waste * new_real:
            groups.append(np.array(current))
            current, real, new_in, new_w, new_real = [], 0, i, w, i * w
        current.append(t)
        max_in, max_w, real = new_in, new_w, new_real
    if current:
        groups.append(np.array(current))
    return groups


def build_layout(hierarchy: Hierarchy, width: Callable[[int], int], waste: float = 2.0) -> Layout:
    """``width(genes in term)`` gives each term's neurons; inputs are children (in their order in
    ``parent_child``), then direct genes (ascending)."""
    sizes = np.asarray(hierarchy.term_genes().sum(1)).ravel()
    widths = np.array([width(int(s)) for s in sizes], np.int64)
    parent, child = hierarchy.parent_child
    gene, gterm = hierarchy.annotations
    order_p = np.argsort(parent, kind="stable")
    kid_ptr = np.searchsorted(parent[order_p], np.arange(hierarchy.num_terms + 1))
    order_g = np.lexsort((gene, gterm))
    gene_ptr = np.searchsorted(gterm[order_g], np.arange(hierarchy.num_terms + 1))
    in_size = np.zeros(hierarchy.num_terms, np.int64)
    term_slots: list[np.ndarray] = [np.zeros(0, np.int64)] * hierarchy.num_terms
    next_slot = 1 + hierarchy.num_genes
    levels = []
    for level in range(hierarchy.depth):
        members = np.flatnonzero(hierarchy.levels == level)
        rows = {}
        for t in members:
            children = child[order_p[kid_ptr[t]:kid_ptr[t + 1]]]
            genes = gene[order_g[gene_ptr[t]:gene_ptr[t + 1]]]
            parts = [term_slots[c] for c in children] + [1 + genes]
            rows[t] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
            in_size[t] = max(len(rows[t]), 1)  # a term with no input still has a bias
        order = members[np.lexsort((in_size[members], widths[members]))]
        blocks = []
        for group in _group(order, in_size, widths, waste):
            in_max, out_w = int(in_size[group].max()), int(widths[group].max())
            inputs = np.zeros((len(group), in_max), np.int64)
            for j, t in enumerate(group):
                inputs[j, :len(rows[t])] = rows[t]
                term_slots[t] = next_slot + j * out_w + np.arange(widths[t])
            blocks.append(Block(group, inputs, in_size[group], widths[group], out_w, next_slot))
            next_slot += len(group) * out_w
        levels.append(blocks)
    return Layout(levels, hierarchy.num_genes, next_slot, term_slots, widths, hierarchy.roots)
