"""bf16 autocast: the sparse products stay in float32 (no bf16 CSR kernel on CPU; on CUDA they would
silently sum in bf16), so a bf16 forward runs and matches the float32 one to bf16 precision, and
attention pooling masks with a value the half-precision logits can hold."""

import numpy as np
import pytest
import torch

from cellreg import CellGraph, Context
from cellreg_dango.aggregation import MeanAdjacency
from cellreg_dango.encoder import DangoConfig, DangoEncoder
from cellreg_heterocell.adjacency import SharedAdjacency
from cellreg_heterocell.encoder import HeteroCellConfig, HeteroCellEncoder
from cellreg_heterocell.pooling import MaskedPool
from cellreg_ops.lazy_op import LazyMaskOp
from random_graphs import random_graph, random_sets, strains

REL = 2e-2  # of the largest magnitude: bf16 keeps 8 significant bits


def bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def assert_close_bf16(low, full):
    assert low.shape == full.shape and torch.isfinite(low).all()
    scale = full.abs().max().clamp(min=1e-6)
    assert ((low.float() - full).abs().max() / scale).item() < REL
    assert full.std() > 1e-3  # not a comparison of constants


def dango_graph(n=14):
    rng = np.random.default_rng(3)

    def edges(m):
        return rng.integers(0, n, m), rng.integers(0, n, m)

    return CellGraph.from_edges([f"g{i}" for i in range(n)], [
        ("string_coexpression", *edges(40), rng.uniform(150, 999, 40).round(), False),
        ("string_database", *edges(25), None, False),
        ("regulatory", *edges(20), None, True),
    ])


def test_dango_encoder_under_bf16_autocast_matches_float32():
    graph = dango_graph()
    torch.manual_seed(0)
    enc = DangoEncoder(DangoConfig(dim=8, meta_hidden=4, relations=["regulatory", "string_coexpression"]),
                       Context(graph=graph, label_names=("y",))).eval()
    with torch.no_grad():
        full = enc({})
        with bf16():
            low = enc({})
    assert_close_bf16(low.genes, full.genes)
    assert_close_bf16(low.aux["network_embeddings"], full.aux["network_embeddings"])


@pytest.mark.parametrize("symmetric", [True, False])
def test_mean_aggregation_forward_and_backward_stay_float32_under_autocast(symmetric):
    torch.manual_seed(0)
    messages = torch.randint(0, 10, (2, 30))
    adj = MeanAdjacency(messages, 10, symmetric=symmetric)
    x = torch.randn(10, 4, requires_grad=True)
    weight = torch.randn(10, 4)
    full = adj.mean(x)
    (g_full,) = torch.autograd.grad((full * weight).sum(), x)
    with bf16():
        low = adj.mean(x)
        (g_low,) = torch.autograd.grad((low * weight).sum(), x)
    assert low.dtype == torch.float32 and g_low.dtype == torch.float32
    torch.testing.assert_close(low, full)  # float32 all the way: no bf16 rounding at all
    torch.testing.assert_close(g_low, g_full)


def test_shared_adjacency_forward_and_backward_stay_float32_under_autocast():
    torch.manual_seed(0)
    src, dst, w = torch.randint(0, 8, (25,)), torch.randint(0, 6, (25,)), torch.rand(25) * 100
    adj = SharedAdjacency(src, dst, w, 8, 6)
    x = torch.randn(8, 5, requires_grad=True)
    weight = torch.randn(6, 5)
    full = adj(x)
    (g_full,) = torch.autograd.grad((full * weight).sum(), x)
    with bf16():
        low = adj(x)
        (g_low,) = torch.autograd.grad((low * weight).sum(), x)
    assert low.dtype == torch.float32 and g_low.dtype == torch.float32
    torch.testing.assert_close(low, full)
    torch.testing.assert_close(g_low, g_full)


@pytest.mark.parametrize("pool", ["attention", "sum"])
def test_hetero_cell_lazy_mask_under_bf16_autocast_matches_float32(pool):
    graph = random_graph(seed=11, n=40, with_metabolism=True, features=3)
    table = strains(graph, random_sets(12, graph.num_genes, 24) + [[0, 1, 2, 3, 4, 5, 6, 7]])
    op = LazyMaskOp(graph)
    batch = op.collate(table, np.arange(table.num_strains))
    torch.manual_seed(0)
    enc = HeteroCellEncoder(HeteroCellConfig(dim=12, layers=3, init_std=0.5, pool=pool), Context(graph=graph)).eval()
    with torch.no_grad():
        full = enc(batch)
        enc._wildtype_cache = None  # the wild type is cached in eval: recompute it under autocast
        with bf16():
            low = enc(batch)
    assert_close_bf16(low.aux["strains"], full.aux["strains"])
    assert_close_bf16(low.aux["wildtype"], full.aux["wildtype"])


def test_attention_pool_with_an_all_masked_row_is_finite_under_bf16_autocast():
    torch.manual_seed(0)
    pool = MaskedPool("attention", ["gene"], 8)
    x = torch.randn(3, 5, 8)
    live = torch.tensor([[True, True, False, True, True], [False] * 5, [True, False, False, False, True]])
    full = pool("gene", x, live)
    with bf16():
        low = pool("gene", x, live)
    assert torch.isfinite(low).all()
    assert torch.equal(low[1].float(), torch.zeros(8))  # a strain with nothing alive pools to 0
    assert_close_bf16(low, full)
    weights = torch.softmax(pool.gate["gene"](x[0, live[0]]).squeeze(-1), 0)  # by hand, live nodes only
    torch.testing.assert_close(full[0], (weights.unsqueeze(-1) * x[0, live[0]]).sum(0))
