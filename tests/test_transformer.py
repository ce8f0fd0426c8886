import math

import numpy as np
import pytest
import torch

from cellreg import CellGraph, Context, PhenotypeTable
from cellreg_ops.index_op import IndexOp
from cellreg_transformer.config import CrossAttentionHeadConfig, GraphHead, TransformerConfig
from cellreg_transformer.encoder import TransformerEncoder
from cellreg_transformer.graph_prior import GraphPrior
from cellreg_transformer.head import UNPERTURBED, CrossAttentionHead
from cellreg_transformer.records import GraphKL


def random_graph(n=300, edges=3000, seed=0, relations=("r",)):
    rng = np.random.default_rng(seed)
    return CellGraph.from_edges([f"g{i}" for i in range(n)], [
        (name, rng.integers(0, n, edges), rng.integers(0, n, edges), None, name.startswith("dir"))
        for name in relations])


def dense_kl(relation, n, q, k):
    """Exact row-wise KL(Ã_i ‖ softmax(q_i·K / √d)) from a dense adjacency: the reference."""
    a = torch.zeros(n, n)
    ei = relation.message_index()
    a[ei[0], ei[1]] = 1
    target = a / a.sum(1, keepdim=True).clamp(min=1)
    log_alpha = torch.log_softmax(q @ k.T / math.sqrt(q.shape[1]), dim=1)
    return torch.where(target > 0, target * (torch.log(target.clamp(min=1e-30)) - log_alpha), 0.0).sum(1)


@pytest.mark.parametrize("relation", ["r", "directed"])
def test_sampled_kl_matches_dense_reference(relation):
    torch.manual_seed(0)
    graph = random_graph(relations=(relation,))
    rel = graph.relations[relation]
    prior = GraphPrior(rel, 300, rows=1, max_positives=1000, negatives=20_000)
    q, k = torch.randn(300, 8) * 2, torch.randn(300, 8) * 2
    rows = prior.valid_rows
    estimate = prior.kl_rows(q, k, rows)
    reference = dense_kl(rel, 300, q, k)[rows]
    assert estimate.mean().item() == pytest.approx(reference.mean().item(), rel=0.01)
    assert (estimate - reference).abs().max() < 0.35  # per row: only the normaliser is sampled


def test_hub_rows_subsample_edges_without_bias():
    torch.manual_seed(1)
    graph = random_graph(n=200, edges=8000)  # mean degree 80: every row is a hub for max_positives=16
    rel = graph.relations["r"]
    prior = GraphPrior(rel, 200, rows=1, max_positives=16, negatives=1500)
    q, k = torch.randn(200, 8), torch.randn(200, 8)
    rows = prior.valid_rows
    estimate = torch.stack([prior.kl_rows(q, k, rows) for _ in range(40)]).mean(0)
    reference = dense_kl(rel, 200, q, k)[rows]
    assert estimate.mean().item() == pytest.approx(reference.mean().item(), rel=0.02)


def test_precision_at_k_is_one_for_the_adjacency_and_near_random_for_noise():
    graph = random_graph()
    rel = graph.relations["r"]
    prior = GraphPrior(rel, 300, rows=1, max_positives=64, negatives=64)
    rows = prior.valid_rows
    a = torch.zeros(300, 300)
    ei = rel.message_index()
    a[ei[0], ei[1]] = 1
    assert prior.precision_at_k(a[rows] * 10, rows, k=10)[0] == pytest.approx(1.0)
    noise, random = prior.precision_at_k(torch.randn(len(rows), 300), rows, k=10)
    assert noise == pytest.approx(random, abs=0.03)


def tiny_model(graph, labels=("fitness", "interaction"), **kw):
    torch.manual_seed(0)
    ctx = Context(graph=graph, label_names=labels)
    kw = {"dim": 16, "layers": 2, "heads": 2, "dropout": 0.0, **kw}
    encoder = TransformerEncoder(TransformerConfig(**kw), ctx)
    head = CrossAttentionHead(CrossAttentionHeadConfig(dropout=0.0, hidden=16), Context(graph=graph, label_names=labels,
                                                                                         encoder=encoder))
    return encoder.eval(), head.eval()


def batch_of(sets, kinds=None, n=None):
    table = PhenotypeTable.from_sets(sets, np.zeros((len(sets), 0)), [], [f"g{i}" for i in range(n or 300)],
                                     kinds=kinds)
    return IndexOp().collate(table, np.arange(len(sets)))


def test_head_equals_the_naive_formula_with_a_dense_perturbation_matrix():
    graph = random_graph(n=50, edges=200)
    encoder, head = tiny_model(graph)
    batch = batch_of([[3, 7], [1, 2, 40], [5]], kinds=[[0, 2], [0, 0, 1], [0]], n=50)
    state = encoder(batch)
    fast = head(state, batch).values
    # Reference: build M(S) for every gene explicitly and sum β_i φ(h_i, m_i) over all N genes.
    h = state.genes
    for b in range(3):
        m = torch.full((50,), UNPERTURBED)
        members = batch["genes"][b][batch["mask"][b]]
        m[members] = batch["kinds"][b][batch["mask"][b]]
        q = (h[members] + head.kind(m[members])).mean(0)
        beta = torch.softmax(head.score(q) @ h.T, dim=0)
        z = (beta.unsqueeze(1) * head.phi(h + head.kind(m))).sum(0)
        y = head.mlp(torch.cat([state.cell, z, q]).unsqueeze(0))[0]
        torch.testing.assert_close(fast[b], y, atol=1e-5, rtol=1e-5)


def test_head_is_order_free_and_batch_mixing_changes_nothing():
    graph = random_graph(n=60, edges=300)
    encoder, head = tiny_model(graph)
    sets = [[1, 2], [4, 9, 30], [7], [11, 12, 13]]
    together = head(encoder(batch_of(sets, n=60)), batch_of(sets, n=60)).values
    for i, s in enumerate(sets):
        alone = head(encoder(batch_of([s], n=60)), batch_of([s], n=60)).values
        reversed_ = head(encoder(batch_of([s[::-1]], n=60)), batch_of([s[::-1]], n=60)).values
        torch.testing.assert_close(together[i], alone[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(reversed_[0], alone[0], atol=1e-6, rtol=1e-5)


def test_graph_loss_comes_from_training_forward_only_and_uses_tied_heads():
    graph = random_graph(n=80, edges=400, relations=("a", "b"))
    encoder, _ = tiny_model(graph, graph_heads=[GraphHead("b", layer=1, head=1, weight=0.5)])
    state = encoder.train()(batch_of([[1]], n=80))
    assert set(state.extra(GraphKL).terms) == {"b"} and state.extra(GraphKL).weights == {"b": 0.5}
    state.extra(GraphKL).terms["b"].backward()
    block0, block1 = encoder.blocks
    assert block0.qkv.weight.grad.abs().sum() > 0  # layer 0 shapes layer 1's input
    assert block1.out.weight.grad is None  # the KL never reaches the output projection of layer 1
    assert encoder.eval()(batch_of([[1]], n=80)).extra(GraphKL).terms == {}


def test_a_relation_may_tie_several_heads_each_with_its_own_kl_and_weight():
    graph = random_graph(n=80, edges=400, relations=("a", "b"))
    ties = [GraphHead("b", layer=0, head=0, weight=1.0), GraphHead("b", layer=1, head=1, weight=0.5),
            GraphHead("a", layer=1, head=0, weight=0.2)]
    encoder, _ = tiny_model(graph, graph_heads=ties)
    state = encoder.train()(batch_of([[1]], n=80))
    assert state.extra(GraphKL).weights == {"b@layer0.head0": 1.0, "b@layer1.head1": 0.5, "a": 0.2}
    kl = state.extra(GraphKL).terms
    assert set(kl) == set(state.extra(GraphKL).weights) and kl["b@layer0.head0"] != kl["b@layer1.head1"]
    assert set(encoder.epoch_diagnostics()["graph_heads"]) == set(kl)


def test_default_ties_one_head_per_relation_and_bad_ties_are_explained():
    graph = random_graph(n=40, edges=100, relations=("a", "b", "c"))
    encoder, _ = tiny_model(graph)
    assert [(t.relation, t.layer, t.head) for t in encoder.ties] == [("a", 0, 0), ("b", 0, 1), ("c", 1, 0)]
    with pytest.raises(ValueError, match="relation 'x' is not in the graph; relations: a, b, c"):
        tiny_model(graph, graph_heads=[GraphHead("x")])
    with pytest.raises(ValueError, match=r"3 relations need 3 graph-tied heads, but the model has 1 layer\(s\) x 2 heads"):
        tiny_model(graph, layers=1)
    with pytest.raises(ValueError, match="names layer 5, head 0; the model has layers 0..1"):
        TransformerConfig(dim=16, layers=2, heads=2, graph_heads=[GraphHead("a", layer=5)])


def test_added_genes_are_tokens_outside_the_graph_loss():
    graph = random_graph(n=60, edges=300)
    encoder, head = tiny_model(graph)
    before = head(encoder(batch_of([[3, 4]], n=60)), batch_of([[3, 4]], n=60)).values
    encoder.add_genes(2)
    state = encoder(batch_of([[3, 4]], n=62))
    assert state.genes.shape[0] == 62
    with_new = batch_of([[3, 60]], kinds=[[0, 3]], n=62)
    assert torch.isfinite(head(encoder(with_new), with_new).values).all()
    after = head(state, batch_of([[3, 4]], n=62)).values
    assert not torch.allclose(before, after)  # the new tokens take part in attention
    assert all(int(p.valid_rows.max()) < 60 for p in encoder.priors.values())


def test_additive_path_is_the_whole_prediction_at_initialisation_and_takes_added_genes():
    graph = random_graph(n=40, edges=150)
    torch.manual_seed(0)
    ctx = Context(graph=graph, label_names=("y",))
    encoder = TransformerEncoder(TransformerConfig(dim=16, layers=1, heads=2, dropout=0.0), ctx)
    head = CrossAttentionHead(CrossAttentionHeadConfig(dropout=0.0, hidden=16, additive=True),
                              Context(graph=graph, label_names=("y",), encoder=encoder)).eval()
    batch = batch_of([[1, 2], [3], [5, 6, 7]], n=40)
    torch.testing.assert_close(head(encoder.eval()(batch), batch).values, head.additive(batch))
    # the additive path by hand: a free vector per gene, summed over the set, then its MLP
    expected = head.additive.mlp(head.additive.gene.weight[[1, 2]].sum(0, keepdim=True))
    torch.testing.assert_close(head.additive(batch_of([[1, 2]], n=40)), expected)
    encoder.add_genes(1)
    with_new = batch_of([[3, 40]], kinds=[[0, 3]], n=41)
    torch.testing.assert_close(head.additive(with_new), head.additive.mlp(
        (head.additive.gene.weight[3] + head.additive.kind.weight[3]).unsqueeze(0)))  # a new gene: its type only


def test_pairwise_products_equal_the_sum_over_every_pair_of_members():
    from itertools import combinations

    from cellreg_transformer.head import pairwise_products

    torch.manual_seed(0)
    members = torch.randn(4, 5, 8, dtype=torch.float64)
    sizes = [5, 3, 2, 1]
    mask = torch.tensor([[k < s for k in range(5)] for s in sizes])
    expected = torch.stack([sum((members[b, i] * members[b, j] for i, j in combinations(range(s), 2)),
                                torch.zeros(8, dtype=torch.float64)) for b, s in enumerate(sizes)])
    torch.testing.assert_close(pairwise_products(members, mask), expected)
