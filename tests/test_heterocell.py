"""HeteroCell: the same weights give the same whole-cell vectors from lazy masks, explicit copies
and k-hop subgraphs; dead nodes carry nothing; the wild type runs once per step."""

import numpy as np
import pytest
import torch

from cellreg import CellState, Context
from cellreg.config import ConfigError
from cellreg.toolkit.layout import REF, node_counts, sub_strain_size
from cellreg.training.trainer import run
from cellreg_heterocell.encoder import HeteroCellConfig, HeteroCellEncoder
from cellreg_heterocell.head import DifferenceHead, DifferenceHeadConfig
from cellreg_ops.explicit_op import ExplicitSubgraphOp
from cellreg_ops.index_op import IndexOp
from cellreg_ops.khop_op import KHopConfig, KHopOp
from cellreg_ops.lazy_op import LazyMaskOp
from random_graphs import random_graph, random_sets, strains


def batch_of(op, graph, table, rows=None):
    return op.collate(table, np.arange(table.num_strains) if rows is None else rows)


def encoder(graph, seed=0, **kw) -> HeteroCellEncoder:
    torch.manual_seed(seed)
    config = HeteroCellConfig(**{"dim": 12, "layers": 3, "init_std": 0.5, "pool": "mean", **kw})
    return HeteroCellEncoder(config, Context(graph=graph)).eval()


@pytest.fixture(scope="module")
def graph():
    return random_graph(seed=11, n=40, with_metabolism=True, features=3)


@pytest.fixture(scope="module")
def table(graph):
    sets = random_sets(12, graph.num_genes, 24) + [[0, 1, 2, 3, 4, 5, 6, 7]]
    return strains(graph, sets)


@pytest.mark.parametrize("pool", ["mean", "attention", "sum"])
@pytest.mark.parametrize("metabolism", [True, False])
def test_lazy_forward_equals_explicit_forward_strain_by_strain(graph, table, pool, metabolism):
    enc = encoder(graph, pool=pool, metabolism=metabolism)
    with torch.no_grad():
        lazy = enc(batch_of(LazyMaskOp(graph), graph, table)).aux["strains"]
        explicit = enc(batch_of(ExplicitSubgraphOp(graph), graph, table)).aux["strains"]
    scale = explicit.abs().amax(dim=1, keepdim=True).clamp(min=1.0)  # sum pooling grows with node count
    assert torch.allclose(lazy / scale, explicit / scale, atol=1e-5, rtol=0)
    assert explicit.std(0).mean() > 1e-3  # strains differ: the comparison is not of constants


def test_khop_with_k_at_least_the_diameter_equals_explicit_forward(graph, table):
    enc = encoder(graph, seed=1)
    with torch.no_grad():
        khop = enc(batch_of(KHopOp(graph, KHopConfig(k=graph.num_genes)), graph, table)).cell
        explicit = enc(batch_of(ExplicitSubgraphOp(graph), graph, table)).cell
        local = enc(batch_of(KHopOp(graph, KHopConfig(k=1)), graph, table)).cell
    assert torch.allclose(khop, explicit, atol=1e-5, rtol=0)
    assert not torch.allclose(local, explicit, atol=1e-3)  # 1 hop really is a smaller graph


def test_an_unperturbed_copy_is_the_wild_type(graph):
    enc = encoder(graph, seed=2)
    table = strains(graph, [[], [3]])
    with torch.no_grad():
        explicit = enc(batch_of(ExplicitSubgraphOp(graph), graph, table))
        lazy = enc(batch_of(LazyMaskOp(graph), graph, table))
    assert torch.allclose(explicit.cell[0], torch.zeros(enc.dim), atol=1e-5)  # F(G) - F(G) = 0
    assert torch.allclose(lazy.cell[0], torch.zeros(enc.dim), atol=1e-6)
    assert lazy.cell[1].abs().max() > 1e-3


def test_dead_nodes_carry_nothing(graph):
    """A deleted gene's own embedding cannot reach its strain's vector, but does reach the wild type's."""
    enc = encoder(graph, seed=3).train()
    table = strains(graph, [[5], [6]])
    state = enc(batch_of(LazyMaskOp(graph), graph, table))
    weight = enc.embed["gene"].weight
    strain0, = torch.autograd.grad(state.aux["strains"][0].sum(), weight, retain_graph=True)
    wild, = torch.autograd.grad(state.aux["wildtype"].sum(), weight)
    assert torch.all(strain0[5] == 0) and strain0[6].abs().sum() > 0
    assert wild[5].abs().sum() > 0


def test_wild_type_runs_once_per_step_and_is_reused_in_eval(graph, table, monkeypatch):
    enc = encoder(graph, seed=4).train()
    calls = []
    original = enc.shared_cells
    monkeypatch.setattr(enc, "shared_cells", lambda num, batch: calls.append(num) or original(num, batch))
    batch = batch_of(LazyMaskOp(graph), graph, table)
    enc(batch)
    assert calls == [len(table), 1]  # one pass for all strains, one for the wild type
    enc.eval()
    with torch.no_grad():
        first = enc(batch).aux["wildtype"]
        enc(batch)
    assert calls.count(1) == 2  # eval reuses it...
    with torch.no_grad():
        enc.readout.bias.add_(1.0)  # ...until a weight changes
        again = enc(batch).aux["wildtype"]
    assert calls.count(1) == 3 and torch.allclose(again, first + 1.0, atol=1e-6)


def test_difference_head_reads_the_difference_and_rejects_wild_type_encoders(graph):
    enc = encoder(graph, seed=5)
    head = DifferenceHead(DifferenceHeadConfig(hidden=8), Context(graph=graph, label_names=("a", "b"), encoder=enc))
    cell = torch.randn(3, enc.dim)
    pred = head(CellState(cell=cell), {}).values
    assert torch.equal(pred, head.mlp(cell)) and pred.shape == (3, 2)
    with pytest.raises(ValueError, match="per-strain encoder"):
        DifferenceHead(DifferenceHeadConfig(), Context(graph=graph, label_names=("a",), encoder=torch.nn.Linear(1, 1)))


def test_clear_errors_for_unknown_relations_and_the_index_op(graph, table):
    message = "no gene–gene relation 'string_db'; the graph has: physical, regulatory, string"
    with pytest.raises(ValueError, match=message):
        encoder(graph, relations=["string_db"])
    enc = encoder(graph, relations=["physical"])
    assert {mt.edge_type[1] for mt in enc.mtypes} == {"physical", "rule", "rev_rule", "stoich", "rev_stoich"}
    with pytest.raises(ValueError, match='name = "lazy_mask", "explicit" or "khop"'):
        enc(batch_of(IndexOp(), graph, table))


def test_training_with_lazy_masks_matches_training_on_explicit_copies(tiny_config, tmp_path):
    """End to end through the trainer: same seed, same batches, the two ops must train the same model."""
    common = ['model.encoder={name="hetero_cell", dim=8, layers=2}', 'model.head={name="difference", hidden=16}',
              "train.epochs=2", "train.lr=0.01", "train.train_eval_rows=200", 'graph={name="synthetic", genes=120}',
              'phenotypes={name="synthetic", doubles=300, triples=100}']
    lazy = run(tiny_config, tmp_path / "lazy", common + ['perturbation={name="lazy_mask"}'])
    explicit = run(tiny_config, tmp_path / "explicit", common + ['perturbation={name="explicit"}'])
    for label in ("fitness", "interaction"):
        for metric in ("pearson", "mse"):
            assert lazy["test"][label][metric] == pytest.approx(explicit["test"][label][metric], rel=1e-3)
    assert lazy["test"]["fitness"]["pearson"] > 0.2  # and it learned something
    with pytest.raises(ConfigError, match="perturbation.k: 'k' must be >= 1"):
        run(tiny_config, tmp_path / "bad", common + ['perturbation={name="khop", k=0}'])


@pytest.mark.parametrize("metabolism", [False, True])
def test_khop_compares_a_neighbourhood_with_itself_intact(metabolism):
    """Sum pooling, k = 2 × layers (+ 1 with metabolism: a deletion kills reactions one hop away):
    F(N) − F(N∖S) equals F(G) − F(G∖S), on neighbourhoods smaller than G; and a strain that
    deletes nothing changes nothing."""
    sparse = random_graph(seed=5, n=120, with_metabolism=metabolism, density=0.15)
    table = strains(sparse, random_sets(4, sparse.num_genes, 20, max_size=2) + [[]])
    enc = encoder(sparse, seed=3, layers=1, pool="sum")
    op = KHopOp(sparse, KHopConfig(k=3 if metabolism else 2))
    with torch.no_grad():
        khop = enc(batch_of(op, sparse, table)).cell
        lazy = enc(batch_of(LazyMaskOp(sparse), sparse, table)).cell
    hood, _ = sub_strain_size(batch_of(op, sparse, table), op.types, [], REF)
    assert (hood < sum(node_counts(sparse).values())).all()  # every neighbourhood is smaller than the graph
    assert torch.allclose(khop, lazy, atol=1e-4, rtol=0)
    assert torch.equal(khop[-1], torch.zeros(enc.dim)) and khop[:-1].abs().amax(1).min() > 1e-3
