"""DCell: the level-batched encoder against a term-by-term reference, its loss, explanations, and the
synthetic organism's planted hierarchy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cellreg import Context, Encoder
from cellreg.data.graph import CellGraph
from cellreg.data.hierarchy import Hierarchy
from cellreg_dcell.configs import VARIANTS, AuxiliaryLossConfig, DCellConfig
from cellreg_dcell.encoder import DCellEncoder
from cellreg_dcell.loss import AuxiliaryLoss
from cellreg_dcell.reference import TermByTermDCell
from cellreg_synthetic.configs import HierarchyConfig, SyntheticGraphConfig
from cellreg_synthetic.graph import build_graph

# A DAG with multiple parents, genes on inner terms and the root, leaves at different depths and a
# term fed by children of two levels: r -> a, b, e, f; a -> c, d; b -> d; e -> c (12 genes)
TERMS = ("r", "a", "b", "c", "d", "e", "f")
EDGES = [[0, 0, 0, 1, 1, 2, 5, 0], [1, 2, 5, 3, 4, 4, 3, 6]]
GENES = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 4], [3, 3, 3, 4, 4, 4, 1, 2, 5, 0, 6, 6, 6]]


def tiny(waste: float = 1.0, **options):
    h = Hierarchy(TERMS, EDGES, GENES, 12)
    graph = CellGraph(genes=tuple(f"g{i}" for i in range(12)), relations={}, extra=h.to_extra())
    torch.manual_seed(0)
    config = DCellConfig(min_width=2, width_per_gene=0.5, waste=waste, **options)
    return DCellEncoder(config, Context(graph=graph, label_names=("fitness", "interaction")))


def batch(b: int = 6, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    genes = torch.stack([torch.randperm(12, generator=g)[:3] for _ in range(b)])
    return {"genes": genes, "kinds": torch.randint(0, 3, (b, 3), generator=g), "mask": torch.rand(b, 3, generator=g) > 0.2}


@pytest.mark.parametrize("train", [True, False])
def test_level_batched_equals_term_by_term_forward_and_gradients(train):
    enc = tiny(waste=1.0)  # waste 1: several blocks of unequal shapes in a level
    assert max(len(level) for level in enc.levels) >= 2 and len(enc.levels) == enc.hierarchy.depth
    for level in enc.levels:  # non-trivial running statistics, so eval mode is tested too
        for block in level:
            block.norm.running_mean.uniform_(-0.5, 0.5)
            block.norm.running_var.uniform_(0.5, 1.5)
    ref = TermByTermDCell(enc)
    enc.train(train)
    ref.train(train)
    data = batch()
    state = enc(data)
    cell, aux, _ = ref(data)
    nonroot = [t for t in range(len(TERMS)) if t not in ref.root_set]
    ref_aux = torch.stack([aux[nonroot.index(t)] for t in enc.aux_terms])
    got_aux = state.extras[0].values
    assert torch.allclose(state.cell, cell, atol=1e-5) and torch.allclose(got_aux, ref_aux, atol=1e-5)
    w1, w2 = torch.randn_like(cell), torch.randn_like(ref_aux)
    ((state.cell * w1).sum() + (got_aux * w2).sum()).backward()
    ((cell * w1).sum() + (ref_aux * w2).sum()).backward()
    modules = [m for level in enc.levels for m in level]
    where = {int(t): (m, j) for m, b in zip(modules, enc.layout.blocks) for j, t in enumerate(b.terms)}
    for t in range(len(TERMS)):
        m, j = where[t]
        lin, aux_lin = ref.linear[t], ref.aux[t]
        w, i = lin.weight.shape
        assert torch.allclose(m.weight.grad[j, :w, :i], lin.weight.grad, atol=1e-5)
        assert torch.allclose(m.bias.grad[j, :w], lin.bias.grad, atol=1e-5)
        o = m.weight.shape[1]
        assert torch.allclose(m.norm.weight.grad[j * o:j * o + w], ref.norm[t].weight.grad, atol=1e-5)
        assert not m.weight.grad[j, w:].any() and not m.weight.grad[j, :, i:].any()  # padding stays zero
        if t not in ref.root_set:
            assert torch.allclose(m.aux_weight.grad[j, :w].t(), aux_lin.weight.grad, atol=1e-5)
        assert not m.aux_weight.grad[j, w:].any()
    assert torch.allclose(enc.kind_state.grad[1:], ref.kind_state.grad[1:], atol=1e-5)


def test_widths_and_inputs_follow_the_paper():
    enc = tiny()
    sizes = np.asarray(enc.hierarchy.term_genes().sum(1)).ravel()
    assert enc.layout.widths.tolist() == [max(2, math.ceil(0.5 * s)) for s in sizes]
    assert VARIANTS["paper"].width(100) == 30 and VARIANTS["paper"].width(5) == 20
    assert VARIANTS["released"].width(99) == 19 and VARIANTS["released"].width(5) == 10
    assert DCellConfig(variant="released").settings().auxiliary_weight == 0.5
    assert DCellConfig(auxiliary_weight=0.1).settings().auxiliary_weight == 0.1
    ref = TermByTermDCell(enc)  # term r reads a, b, e and f's neurons, then its own gene 9
    assert ref.linear[0].weight.shape[1] == sum(int(enc.layout.widths[c]) for c in (1, 2, 5, 6)) + 1


def test_auxiliary_loss_is_alpha_times_summed_masked_mse():
    enc = tiny(auxiliary_weight=0.3)
    data = batch(4)
    state = enc(data)
    target = torch.tensor([[0.5, float("nan")], [1.0, 2.0], [float("nan"), -1.0], [0.0, float("nan")]])
    values = state.extras[0].values.detach()
    expected = 0.0
    for t in range(values.shape[0]):
        per_label = []
        for label in range(2):
            m = ~torch.isnan(target[:, label])
            per_label.append(((values[t, m, label] - target[m, label]) ** 2).mean())
        expected += 0.3 * float(sum(per_label) / 2)
    loss = AuxiliaryLoss(AuxiliaryLossConfig(), Context(encoder=enc))
    assert float(loss(state.cell, target, state, data).detach()) == pytest.approx(expected, rel=1e-5)
    mean = AuxiliaryLoss(AuxiliaryLossConfig(reduce="mean"), Context(encoder=enc))
    assert float(mean(state.cell, target, state, data).detach()) == pytest.approx(expected / values.shape[0], rel=1e-5)
    with pytest.raises(ValueError, match="dcell_auxiliary.*gives none"):
        AuxiliaryLoss(AuxiliaryLossConfig(), Context(encoder=Encoder()))


def test_explain_moves_only_the_ancestors_of_a_deleted_gene():
    enc = tiny()
    enc.eval()
    data = {"genes": torch.tensor([[9], [0]]), "kinds": torch.zeros(2, 1, dtype=torch.long),
            "mask": torch.ones(2, 1, dtype=torch.bool)}
    shift = enc.term_shift(enc(data).aux["states"])
    genes = enc.hierarchy.term_genes().toarray()
    for s, gene in enumerate((9, 0)):
        assert torch.all(shift[s][torch.from_numpy(genes[:, gene] == 0)] == 0)  # no path from the gene
        assert torch.all(shift[s][torch.from_numpy(genes[:, gene] == 1)] > 0)
    idx, _ = enc.explain(enc(data), data, 2)["terms"]
    assert enc.explained_names("terms")[int(idx[0, 0])] == "r"  # gene 9 is annotated to the root alone


def test_dcell_needs_an_ontology():
    graph = CellGraph(genes=("a", "b"), relations={})
    with pytest.raises(ValueError, match="dcell needs a CellGraph with an ontology"):
        DCellEncoder(DCellConfig(), Context(graph=graph, label_names=("y",)))


def test_synthetic_hierarchy_nests_modules_and_leaves_the_networks_alone():
    plain = build_graph(SyntheticGraphConfig(genes=400), seed=3)
    config = SyntheticGraphConfig(genes=400, hierarchy=HierarchyConfig(branching=4))
    graph = build_graph(config, seed=3)
    for name, rel in plain.relations.items():  # same networks, edge for edge
        assert torch.equal(rel.edge_index, graph.relations[name].edge_index)
    assert plain.extra is None
    h = Hierarchy.from_extra(graph.extra, graph.num_genes)
    assert len(h.roots) == 1 and h.terms[h.roots[0]] == "SYN:ROOT"
    leaves = np.flatnonzero(h.levels == 0)
    assert len(leaves) == 400 // 25 and h.annotations.shape[1] == 400  # every gene in its module, once
    sizes = np.asarray(h.term_genes().sum(1)).ravel()
    assert sizes[h.roots[0]] == 400 and set(sizes[leaves]) == {25}
    again = Hierarchy.from_extra(build_graph(config, seed=3).extra, 400)
    assert np.array_equal(again.parent_child, h.parent_child) and np.array_equal(again.annotations, h.annotations)
    assert not np.array_equal(Hierarchy.from_extra(build_graph(config, seed=4).extra, 400).annotations,
                              h.annotations)


def test_yeast_go_preset_has_the_published_shape():
    from cellreg_synthetic.graph import modules_of
    from cellreg_synthetic.hierarchy import planted_hierarchy

    module = modules_of(6607, 25, np.random.default_rng([0, 0x6A4F]))
    h = planted_hierarchy(module, HierarchyConfig(preset="yeast_go"), 0)
    sizes = np.asarray(h.term_genes().sum(1)).ravel()
    neurons = int(sum(VARIANTS["paper"].width(int(s)) for s in sizes))
    assert 2300 <= h.num_terms <= 2700 and 90_000 <= neurons <= 105_000 and 12 <= h.depth <= 13
    assert len(h.parent_child[0]) > h.num_terms - 1  # second parents: a DAG, not a tree
