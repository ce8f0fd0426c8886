"""A planted ontology for the synthetic organism: its modules nested into larger processes under one root.

Leaves are the planted modules (or, with ``leaf_size``, pieces of them); each round groups the
terms of the round before into parents of about ``branching`` children, in random order, until one
root is left. ``second_parent`` gives a share of terms a second parent from the same round and
``second_module`` annotates a share of genes to a second leaf, so the hierarchy is a DAG as the
Gene Ontology is. It draws from its own random stream, so the networks and phenotypes of a seed
are the same with and without it.
"""

from __future__ import annotations

import numpy as np

from cellreg.data.hierarchy import Hierarchy
from cellreg_synthetic.configs import HierarchyConfig


def _leaves(module: np.ndarray, leaf_size: int, rng: np.random.Generator) -> np.ndarray:
    """Leaf of each gene: its module, or with ``leaf_size`` an even piece of it of at most that many genes."""
    if not leaf_size:
        return module
    count = np.bincount(module)
    pieces = np.maximum(-(-count // leaf_size), 1)
    order = np.lexsort((rng.random(len(module)), module))
    rank = np.empty(len(module), np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    rank[order] = np.arange(len(module)) - start[module[order]]
    offset = np.concatenate([[0], np.cumsum(pieces)[:-1]])
    return offset[module] + rank % pieces[module]


def planted_hierarchy(module: np.ndarray, config: HierarchyConfig, seed: int) -> Hierarchy:
    config = config.resolved()
    rng = np.random.default_rng([seed, 0x0A7C])
    n = len(module)
    leaf = _leaves(np.asarray(module, np.int64), config.leaf_size, rng)
    num_leaves = int(leaf.max()) + 1
    genes, terms = [np.arange(n)], [leaf]
    again = np.flatnonzero(rng.random(n) < config.second_module) if num_leaves > 1 else np.zeros(0, np.int64)
    genes.append(again)
    terms.append((leaf[again] + rng.integers(1, num_leaves, len(again))) % num_leaves)
    names = [f"SYN:L{i:05d}" for i in range(num_leaves)]
    titles = [f"module piece {i}" if config.leaf_size else f"module {i}" for i in range(num_leaves)]
    edges, level, rnd = [], np.arange(num_leaves), 1
    while len(level) > 1:
        m = len(level)
        k = max(1, int(round(m / config.branching)))
        child = rng.permutation(level)
        group = np.arange(m) * k // m  # k groups of balanced sizes
        first = len(names)
        edges.append(np.stack([first + group, child]))
        if k > 1:
            two = rng.random(m) < config.second_parent
            other = (group[two] + rng.integers(1, k, int(two.sum()))) % k
            edges.append(np.stack([first + other, child[two]]))
        names += [f"SYN:P{rnd:02d}.{i:04d}" for i in range(k)] if k > 1 else ["SYN:ROOT"]
        titles += [f"process {rnd}.{i}" for i in range(k)] if k > 1 else ["cell"]
        level, rnd = first + np.arange(k), rnd + 1
    parent_child = np.concatenate(edges, axis=1) if edges else np.zeros((2, 0), np.int64)
    annotations = np.stack([np.concatenate(genes), np.concatenate(terms)])
    return Hierarchy(tuple(names), parent_child, annotations, n, titles=tuple(titles))
