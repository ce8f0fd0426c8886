"""Profile heads, losses and the synthetic expression mechanism: vectorised outputs against a naive
loop, losses against their formulas, the planted mechanism against its definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cellreg import CellGraph, Context, PhenotypeTable
from cellreg.data.label_groups import GroupKind
from cellreg.data.profiles import profile_labels
from cellreg.plugin_api.registry import default_registry
from cellreg_losses.configs import ProfileLossConfig
from cellreg_losses.mse import MSELoss
from cellreg_losses.profile import ProfileLoss
from cellreg_ops.index_op import IndexOp
from cellreg_profiles.configs import VectorHeadConfig
from cellreg_profiles.vector_head import VectorHead
from cellreg_synthetic.expression import simulate_expression
from cellreg_synthetic.expression_config import SyntheticExpressionConfig
from cellreg_transformer.config import TransformerConfig
from cellreg_transformer.encoder import TransformerEncoder
from cellreg_transformer.profile_config import PerGeneHeadConfig
from cellreg_transformer.profile_head import PerGeneHead

N = 40
GENES = [f"g{i}" for i in range(N)]


def graph() -> CellGraph:
    rng = np.random.default_rng(0)
    return CellGraph.from_edges(GENES, [("r", rng.integers(0, N, 150), rng.integers(0, N, 150), None, False)])


def batch_of(sets, kinds=None, n=N):
    table = PhenotypeTable.from_sets(sets, np.zeros((len(sets), 0)), [], [f"g{i}" for i in range(n)], kinds=kinds)
    return IndexOp().collate(table, np.arange(len(sets)))


def per_gene_model(labels):
    torch.manual_seed(0)
    g = graph()
    encoder = TransformerEncoder(TransformerConfig(dim=16, layers=1, heads=2, dropout=0.0),
                                 Context(graph=g, label_names=labels))
    head = PerGeneHead(PerGeneHeadConfig(rank=8, hidden=16, dropout=0.0),
                       Context(graph=g, label_names=labels, encoder=encoder))
    with torch.no_grad():
        head.self_effect.weight.normal_()
        head.bias.normal_()
    return encoder.eval(), head.eval()


def test_per_gene_head_equals_a_loop_over_strains_and_features():
    # features: genes g5, g0, g7, then a morphology-like feature that names no gene
    labels = profile_labels("expression", ["g5", "G0", "g7"]) + ("expression:cell_size",)
    encoder, head = per_gene_model(labels)
    sets, kinds = [[5, 9], [7], [0, 3, 30]], [[0, 2], [0], [1, 0, 0]]
    batch = batch_of(sets, kinds)
    state = encoder(batch)
    fast = head(state, batch).values
    assert fast.shape == (3, 4)
    s = head.summary(state, batch).values
    keys = head.key(state.genes)
    for b, (members, member_kinds) in enumerate(zip(sets, kinds)):
        for j, gene in enumerate([5, 0, 7, None]):
            key = keys[gene] if gene is not None else head.free_key[0]
            expected = s[b] @ key + head.bias[j]
            if gene in members:  # the perturbed gene's own transcript
                expected = expected + head.self_effect.weight[member_kinds[members.index(gene)], 0]
            torch.testing.assert_close(fast[b, j], expected, atol=1e-5, rtol=1e-5)


def test_per_gene_head_gives_an_added_gene_its_own_entry():
    encoder, head = per_gene_model(profile_labels("expression", GENES))
    encoder.add_genes(1)
    batch = batch_of([[3, N]], kinds=[[0, 3]], n=N + 1)
    state = encoder(batch)
    every = head.per_gene(state, batch)
    assert every.shape == (1, N + 1)  # one output per gene token, the added one included
    torch.testing.assert_close(head(state, batch).values, every[:, :N] + head.bias)
    s = head.summary(state, batch).values
    torch.testing.assert_close(every[0, N], s[0] @ head.key(state.genes)[N] + head.self_effect.weight[3, 0])


def test_vector_head_reads_out_any_family_head():
    g = graph()
    registry = default_registry()
    labels = profile_labels("morphology", [f"f{i}" for i in range(7)])
    encoder = registry.build("encoder", "gene_embedding", None, Context(graph=g, label_names=labels))
    config = VectorHeadConfig(inner={"name": "sum_mlp", "hidden": 8}, rank=5)
    head = VectorHead(config, Context(graph=g, label_names=labels, encoder=encoder, registry=registry))
    batch = batch_of([[1, 2], [3]])
    state = encoder(batch)
    out = head(state, batch)
    assert out.values.shape == (2, 7)
    torch.testing.assert_close(out.values, head.readout(head.inner(state, batch).values))


def test_profile_losses_against_their_formulas():
    pred = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    target = torch.tensor([[1.0, float("nan"), -1.0], [0.0, 2.0, -1.0]])
    mse = ProfileLoss(ProfileLossConfig(), Context(label_names=("a", "b", "c")))
    torch.testing.assert_close(mse(pred, target), MSELoss()(pred, target))
    gaussian = ProfileLoss(ProfileLossConfig(likelihood="gaussian"), Context(label_names=("a", "b", "c")))
    torch.testing.assert_close(gaussian(pred, target), 0.5 * MSELoss()(pred, target))  # log variance 0 at the start
    with torch.no_grad():
        gaussian.log_var.fill_(np.log(4.0))
    per_label = torch.tensor([(0.25 + 1.0) / 2 / 4, 4.0 / 4, (9.0 + 0.25) / 2 / 4])
    torch.testing.assert_close(gaussian(pred, target), (0.5 * (np.log(4.0) + per_label)).mean())
    direction = ProfileLoss(ProfileLossConfig(direction=2.0), Context(label_names=("a", "b", "c")))
    # relu(-sign(target) * pred) per label over measured rows: a: 0.5 for 1 -> 0, 1 for 0 -> 0; b: 0 for 2 -> 0;
    # c: 2 for -1 -> 2, -0.5 for -1 -> 0, mean 1
    hinge = torch.tensor([0.0, 0.0, 2.0 / 2]).mean()
    torch.testing.assert_close(direction(pred, target), MSELoss()(pred, target) + 2.0 * hinge)


def test_synthetic_expression_follows_its_mechanism():
    g = CellGraph.from_edges(GENES, [("regulatory", np.array([0, 0, 1]), np.array([5, 6, 7]), None, True),
                                     ("physical", np.arange(N - 1), np.arange(1, N), None, False)])
    config = SyntheticExpressionConfig(doubles=20, program_effect=0.0, noise=0.0, regulator_effect=1.0,
                                       self_effect=2.0, saturation=3.0)
    table = simulate_expression(g, config, seed=0)
    assert table.label_groups[0].kind == GroupKind.PROFILE and table.label_names[0] == "expression:g0"
    singles = table.labels[:N]  # every gene once, in order
    moved = np.abs(singles) > 1e-6
    expected = np.zeros((N, N), bool)
    expected[np.arange(N), np.arange(N)] = True  # its own transcript
    expected[0, [5, 6]] = expected[1, 7] = True  # a regulator's targets
    np.testing.assert_array_equal(moved, expected)
    np.testing.assert_allclose(np.diag(singles), 3 * np.tanh(-2 / 3), rtol=1e-5)
    again = simulate_expression(g, config, seed=0)
    np.testing.assert_array_equal(again.labels, table.labels)


def test_profiles_are_scaled_about_zero_and_scalars_centred():
    import attrs

    from cellreg.data.profiles import profile_columns, profile_group
    from cellreg.data.standardize import LabelScaler

    table = PhenotypeTable.from_sets([[0], [1], [2]], np.array([[1.0, 2.0, 10.0], [3.0, np.nan, 20.0],
                                                                [-1.0, 2.0, 30.0]]),
                                     ["expression:g0", "expression:g1", "fitness"], GENES)
    table = attrs.evolve(table, label_groups=(profile_group("expression", table.label_names[:2]),))
    np.testing.assert_array_equal(profile_columns(table), [True, True, False])
    scaler = LabelScaler.fit(table.labels, profile_columns(table))
    # a profile's features: mean 0 (0 stays "no change"), scale = root mean square of the measured values;
    # the scalar label: centred, scaled by its sd
    np.testing.assert_allclose(scaler.mean, [0.0, 0.0, 20.0])
    np.testing.assert_allclose(scaler.std, [np.sqrt(11 / 3), 2.0, np.sqrt(200 / 3)], rtol=1e-6)
