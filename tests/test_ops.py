"""Perturbation ops: lazy masks, explicit copies and k-hop subgraphs agree on what a strain is."""

import pickle

import numpy as np
import pytest
import torch
from torch_geometric.utils import k_hop_subgraph

from cellreg import CellGraph, Perturbation
from cellreg.plugin_api.registry import load_registry
from cellreg_ops.explicit_op import ExplicitSubgraphOp
from cellreg_ops.khop_op import KHopConfig, KHopOp
from cellreg.toolkit.layout import GENE, REACTION, dead_keys, edge_specs, node_counts, sub_edge_keys, sub_node_keys
from cellreg_ops.lazy_op import LazyMaskOp
from random_graphs import random_graph, random_sets, strains




def sub_nodes(batch, t, b) -> set[int]:
    ids, owner = batch[sub_node_keys(t)[0]], batch[sub_node_keys(t)[1]]
    return set(ids[owner == b].tolist())


def sub_edges(batch, spec, b) -> dict[tuple[int, int], float]:
    """Strain b's edges of one relation, in original node ids, with their weights."""
    ei = batch[sub_edge_keys(spec.key)[0]]
    w = batch.get(sub_edge_keys(spec.key)[1])
    src_ids, src_owner = batch[sub_node_keys(spec.src)[0]], batch[sub_node_keys(spec.src)[1]]
    dst_ids = batch[sub_node_keys(spec.dst)[0]]
    mine = src_owner[ei[0]] == b
    pairs = zip(src_ids[ei[0, mine]].tolist(), dst_ids[ei[1, mine]].tolist())
    weights = w[mine].tolist() if w is not None else [1.0] * int(mine.sum())
    return dict(zip(pairs, weights))


def dead(batch, name, b) -> set[int]:
    ks, ki = dead_keys(name)
    return set(batch[ki][batch[ks] == b].tolist())


def canonical(spec) -> dict[tuple[int, int], int]:
    return {(u, v): p for p, (u, v) in enumerate(spec.edge_index.t().tolist())}


@pytest.fixture(scope="module")
def graph():
    return random_graph(seed=1, n=40, with_metabolism=True)


@pytest.fixture(scope="module")
def table(graph):
    sets = random_sets(2, graph.num_genes, 30) + [[], [0, 1, 2, 3, 4, 5]]
    return strains(graph, sets)


def test_lazy_dead_lists_are_exactly_what_the_explicit_copy_removes(graph, table):
    rows = np.arange(table.num_strains)
    lazy = LazyMaskOp(graph).collate(table, rows)
    explicit = ExplicitSubgraphOp(graph).collate(table, rows)
    counts = node_counts(graph)
    reactions_killed = 0
    for b in rows:
        for t in (GENE, REACTION):
            assert dead(lazy, t, b) == set(range(counts[t])) - sub_nodes(explicit, t, b), (b, t)
        reactions_killed += len(dead(lazy, REACTION, b))
        for spec in edge_specs(graph):
            survivors = {canonical(spec)[e] for e in sub_edges(explicit, spec, b)}
            assert dead(lazy, spec.key, b) == set(range(spec.num_edges)) - survivors, (b, spec.key)
    assert reactions_killed > 0  # the rules did something
    for ks in [k for k in lazy if k.endswith(".strain")]:  # sorted by strain, no duplicates
        key = lazy[ks] * 10**6 + lazy[ks.replace(".strain", ".index")]
        assert torch.all(key[1:] > key[:-1]), ks


def test_lazy_cost_per_strain_does_not_grow_with_the_number_of_edges():
    base = random_graph(seed=3, n=200)
    table = strains(base, random_sets(4, 20, 16))  # strains perturb genes 0..19 only
    rng = np.random.default_rng(5)
    relations = []
    for rel in base.relations.values():  # 4x more edges, all among genes 20..199
        extra = rng.integers(20, 200, size=(2, 5 * rel.num_edges))
        ei = np.concatenate([rel.edge_index.numpy(), extra], axis=1)
        w = None if rel.weight is None else np.concatenate([rel.weight.numpy(), np.ones(extra.shape[1])])
        relations.append((rel.name, ei[0], ei[1], w, rel.directed))
    dense = CellGraph.from_edges(base.genes, relations)
    assert dense.num_edges >= 5 * base.num_edges
    rows = np.arange(table.num_strains)
    touched, dead_pairs = [], []
    for g in (base, dense):
        op = LazyMaskOp(g)
        out = op.collate(table, rows)
        touched.append(op.touched)
        dead_pairs.append({(spec.name, b, tuple(spec.edge_index[:, p].tolist()))
                           for spec in edge_specs(g) for b in rows for p in dead(out, spec.key, b)})
    deleted = np.concatenate([table.strain(s)[0] for s in rows])  # with repeats across strains
    degree = sum(np.bincount(r.edge_index.numpy().ravel(), minlength=base.num_genes) for r in base.relations.values())
    assert touched[0] == degree[deleted].sum()  # Σ deg of each strain's deleted genes...
    assert touched[1] == touched[0]  # ...on the graph with 4x more edges too
    assert dead_pairs[0] == dead_pairs[1]


def test_khop_with_k_at_least_the_diameter_is_the_explicit_subgraph(graph, table):
    rows = np.arange(table.num_strains - 2)  # strains that delete something (an empty one gets an empty graph)
    explicit = ExplicitSubgraphOp(graph).collate(table, rows)
    khop = KHopOp(graph, KHopConfig(k=graph.num_genes)).collate(table, rows)
    assert torch.equal(khop["genes"], explicit["genes"])
    for t in node_counts(graph):
        for key in sub_node_keys(t):  # same rows in the same order
            assert torch.equal(khop[key], explicit[key]), key
    for spec in edge_specs(graph):
        for b in rows:
            assert sub_edges(khop, spec, b) == pytest.approx(sub_edges(explicit, spec, b)), (spec.key, b)


def reference_khop(graph, deleted, k):
    """PyG's k_hop_subgraph on the homogeneous union graph, minus the deletions, as original ids per type."""
    counts = node_counts(graph)
    offset = dict(zip(counts, np.cumsum([0] + list(counts.values()))[:-1].tolist()))
    src = [s.edge_index[0] + offset[s.src] for s in edge_specs(graph)]
    dst = [s.edge_index[1] + offset[s.dst] for s in edge_specs(graph)]
    union = torch.stack([torch.cat(src + dst), torch.cat(dst + src)])
    subset, *_ = k_hop_subgraph(torch.as_tensor(deleted, dtype=torch.long), k, union, num_nodes=sum(counts.values()))
    alive_reactions = ExplicitSubgraphOp(graph).alive_reactions(np.asarray(deleted, dtype=np.int64))
    nodes = {}
    for t, n in counts.items():
        mine = subset[(subset >= offset[t]) & (subset < offset[t] + n)] - offset[t]
        keep = set(mine.tolist())
        if t == GENE:
            keep -= set(deleted)
        if t == REACTION:
            keep = {r for r in keep if alive_reactions[r]}
        nodes[t] = keep
    return nodes


@pytest.mark.parametrize("k", [1, 2])
def test_khop_nodes_features_and_edges_line_up(k):
    graph = random_graph(seed=6, n=80, with_metabolism=True, features=4, density=0.2)
    table = strains(graph, random_sets(7, graph.num_genes, 12, max_size=2))
    rows = np.arange(table.num_strains)
    out = KHopOp(graph, KHopConfig(k=k)).collate(table, rows)
    x = graph.gene_features[out["sub.gene.id"]]  # what a model reads for each batch row
    sizes = []
    for b in rows:
        nodes = reference_khop(graph, table.strain(b)[0].tolist(), k)
        for t, keep in nodes.items():
            assert sub_nodes(out, t, b) == keep, (b, t)
        sizes.append(len(nodes[GENE]))
        for spec in edge_specs(graph):
            got = sub_edges(out, spec, b)
            want = {(u, v) for u, v in spec.edge_index.t().tolist() if u in nodes[spec.src] and v in nodes[spec.dst]}
            assert set(got) == want, (b, spec.key)
            if spec.weight is not None:
                lookup = dict(zip(map(tuple, spec.edge_index.t().tolist()), spec.weight.tolist()))
                assert all(got[e] == pytest.approx(lookup[e]) for e in got)
    assert np.mean(sizes) < 0.75 * graph.num_genes  # real neighbourhoods, not the whole graph
    # Features follow their nodes: each gene–gene edge's end rows hold its end genes' features.
    ei = out[sub_edge_keys("gene__physical__gene")[0]]
    ids = out["sub.gene.id"]
    assert torch.equal(x[ei[0]], graph.gene_features[ids[ei[0]]])
    assert torch.equal(x[ei[1]], graph.gene_features[ids[ei[1]]])
    phys = {tuple(e) for e in graph.relations["physical"].edge_index.t().tolist()}
    feats = {tuple(f.tolist()): i for i, f in enumerate(graph.gene_features)}
    assert {(feats[tuple(a.tolist())], feats[tuple(c.tolist())]) for a, c in zip(x[ei[0]], x[ei[1]])} <= phys


RULES = {  # reaction: its rule over genes a=0, b=1, c=2, as a Python predicate on the live set
    0: ("(a and b) or c", lambda s: ("a" in s and "b" in s) or "c" in s),
    1: ("a", lambda s: "a" in s),
    2: ("", lambda s: True),
    3: ("a and (b or c)", lambda s: "a" in s and ("b" in s or "c" in s)),
    4: ("b or c", lambda s: "b" in s or "c" in s),
}


def circuit_graph() -> CellGraph:
    """Genes a, b, c, d with the RULES above as a DNF circuit, over a connected metabolism."""
    from torch_geometric.data import HeteroData

    clauses = {0: [[0, 1], [2]], 1: [[0]], 2: [], 3: [[0, 1], [0, 2]], 4: [[1], [2]]}
    literals, clause_of = [], []
    for r, cs in clauses.items():
        for c in cs:
            literals += [(g, len(clause_of)) for g in c]
            clause_of.append((len(clause_of), r))
    extra = HeteroData()
    extra["reaction"].num_nodes, extra["metabolite"].num_nodes, extra["clause"].num_nodes = 5, 5, len(clause_of)
    extra["gene", "rule", "reaction"].edge_index = torch.tensor(
        sorted({(g, r) for r, cs in clauses.items() for c in cs for g in c})).t()
    # reaction r makes metabolite r from metabolite 0 (which connects them all)
    extra["metabolite", "stoich", "reaction"].edge_index = torch.tensor([[0, 1, 2, 3, 4, 0, 0, 0, 0],
                                                                         [0, 1, 2, 3, 4, 1, 2, 3, 4]])
    extra["metabolite", "stoich", "reaction"].coefficient = torch.tensor([-1.0, 1, 2, 1, 1, -1, -2, -1, -3])
    extra["gene", "in", "clause"].edge_index = torch.tensor(literals).t()
    extra["clause", "of", "reaction"].edge_index = torch.tensor(clause_of).t()
    physical = ("physical", np.array([0, 1, 2]), np.array([1, 2, 3]), None, False)
    return CellGraph.from_edges(["a", "b", "c", "d"], [physical], extra=extra)


def test_gene_rules_and_or_semantics_in_every_op():
    graph = circuit_graph()
    subsets = [[g for g in range(4) if m >> g & 1] for m in range(16)]
    table = strains(graph, subsets)
    rows = np.arange(len(subsets))
    lazy = LazyMaskOp(graph).collate(table, rows)
    explicit = ExplicitSubgraphOp(graph).collate(table, rows)
    khop = KHopOp(graph, KHopConfig(k=10)).collate(table, rows)
    for b, deleted in enumerate(subsets):
        live = {"abcd"[g] for g in range(4) if g not in deleted}
        expected_dead = {r for r, (_, rule) in RULES.items() if not rule(live)}
        assert dead(lazy, "reaction", b) == expected_dead, (deleted, RULES)
        assert sub_nodes(explicit, "reaction", b) == set(RULES) - expected_dead
        if deleted:
            assert sub_nodes(khop, "reaction", b) == set(RULES) - expected_dead
        stoich_reaction = graph.extra["metabolite", "stoich", "reaction"].edge_index[1].tolist()
        assert dead(lazy, "metabolite__stoich__reaction", b) == {
            p for p, r in enumerate(stoich_reaction) if r in expected_dead}


def test_only_deletions_remove_genes():
    graph = random_graph(seed=8, n=20)
    table = strains(graph, [[1, 2], [1, 2]], kinds=[[Perturbation.DELETION, Perturbation.KNOCKDOWN],
                                                    [Perturbation.OVEREXPRESSION, Perturbation.ADDITION]])
    with pytest.warns(UserWarning, match="a strain without deletions gets the wild type's prediction"):
        out = LazyMaskOp(graph).collate(table, np.arange(2))
    assert dead(out, GENE, 0) == {1} and dead(out, GENE, 1) == set()
    assert out["kinds"].tolist() == [[0, 1], [2, 3]]  # the head still sees every entry
    with pytest.warns(UserWarning, match="graph ops remove only deleted genes"):
        explicit = ExplicitSubgraphOp(graph).collate(table, np.arange(2))
    assert sub_nodes(explicit, GENE, 1) == set(range(20))


@pytest.mark.parametrize("make", [LazyMaskOp, ExplicitSubgraphOp, lambda g: KHopOp(g, KHopConfig(k=2))])
def test_ops_pickle_for_dataloader_workers(make, graph, table):
    op = make(graph)
    rows = np.arange(5, 15)
    clone = pickle.loads(pickle.dumps(op))
    a, b = op.collate(table, rows), clone.collate(table, rows)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(v.device.type == "cpu" for v in a.values())


def test_ops_are_registered_with_their_configs():
    registry = load_registry(allow="cellreg")
    for name in ("index", "explicit", "lazy_mask", "khop"):
        assert registry.get("perturbation", name).name == name
    assert registry.get("perturbation", "khop").config is KHopConfig
    with pytest.raises(ValueError, match="'k' must be >= 1"):
        KHopConfig(k=0)


def test_strain_sizes_count_what_each_op_hands_the_encoder(graph, table):
    rows = np.arange(table.num_strains - 2)
    lazy_op, explicit_op = LazyMaskOp(graph), ExplicitSubgraphOp(graph)
    khop_op = KHopOp(graph, KHopConfig(k=graph.num_genes))
    lazy, explicit = lazy_op.collate(table, rows), explicit_op.collate(table, rows)
    total_nodes = sum(node_counts(graph).values())
    total_edges = sum(s.num_edges for s in edge_specs(graph))
    nodes, edges = explicit_op.strain_size(explicit)
    for b in rows:  # a copy holds what the lazy lists do not kill
        dead_nodes = sum(len(dead(lazy, t, b)) for t in (GENE, REACTION))
        dead_edges = sum(len(dead(lazy, s.key, b)) for s in edge_specs(graph))
        assert (nodes[b], edges[b]) == (total_nodes - dead_nodes, total_edges - dead_edges)
    khop_nodes, khop_edges = khop_op.strain_size(khop_op.collate(table, rows))  # the copy and the intact graph
    assert torch.equal(khop_nodes, nodes + total_nodes) and torch.equal(khop_edges, edges + total_edges)
    lazy_nodes, lazy_edges = lazy_op.strain_size(lazy)  # the lazy encoder passes over the whole graph
    assert set(lazy_nodes.tolist()) == {total_nodes} and set(lazy_edges.tolist()) == {total_edges}
