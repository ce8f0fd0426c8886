"""DANGO (encoder ``dango``, head ``hypersagnn``, loss ``dango_reconstruction``) against independent
references: a dense reconstruction loss, order invariance, batch-mixing equivalence, the
meta-embedding's weights, and the pretraining schedule's effect on what gets trained."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.nn import SAGEConv

from cellreg import CellGraph, CellState, Context
from cellreg.plugin_api.run_config import load_config
from cellreg.training.model import CellModel
from cellreg.training.trainer import run
from cellreg_dango.aggregation import MeanAdjacency
from cellreg_dango.encoder import DangoConfig, DangoEncoder
from cellreg_dango.graphsage import MeanSAGEConv
from cellreg_dango.hypersagnn import HyperSAGNNConfig, HyperSAGNNHead
from cellreg_dango.loss import ReconstructionLoss
from cellreg_dango.records import Reconstruction
from cellreg_dango.schedule import Schedule
from cellreg_losses.logcosh import LogCoshLoss

N = 14
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(3)

    def edges(m):
        src, dst = rng.integers(0, N, m), rng.integers(0, N, m)
        return src, dst

    coexp = edges(40)
    return CellGraph.from_edges([f"g{i}" for i in range(N)], [
        ("string_coexpression", *coexp, rng.uniform(150, 999, 40).round(), False),  # weighted, distinct min
        ("string_database", *edges(25), None, False),
        ("regulatory", *edges(20), None, True),  # not string_*: left out by default
    ])


def encoder_for(graph, **settings):
    torch.manual_seed(0)
    return DangoEncoder(DangoConfig(dim=8, meta_hidden=4, **settings), Context(graph=graph, label_names=("y",)))


def dense_reference(graph, name, pred, rows, lam):
    """The reference code's recipe on dense matrices: min-max scaled weights into an N×N adjacency,
    symmetrised, then per row the MSE over non-zero entries + λ · MSE over zero entries."""
    rel = graph.relations[name]
    ei = rel.edge_index.numpy()
    w = np.ones(ei.shape[1]) if rel.weight is None else rel.weight.numpy().astype(np.float64)
    if w.max() > w.min():
        w = (w - w.min()) / (w.max() - w.min())
    a = np.zeros((N, N))
    a[ei[0], ei[1]] = w
    if not rel.directed:
        a[ei[1], ei[0]] = w
    a, p = a[rows], pred.astype(np.float64)
    on, off = [], []
    for t, q in zip(a, p):
        nz = t != 0
        on.append(((q - t)[nz] ** 2).mean() if nz.any() else 0.0)
        off.append((q[~nz] ** 2).mean())
    return np.mean(on) + lam * np.mean(off)


@pytest.mark.parametrize("recon_rows,relations", [(100, []), (5, []), (6, ["regulatory"])])  # all rows; subsets
def test_reconstruction_loss_equals_a_dense_reference(graph, recon_rows, relations):
    enc = encoder_for(graph, recon_rows=recon_rows, relations=relations).train()
    enc.on_epoch_start(0, 10)  # pretraining: reconstruction factor 1
    state = enc({})
    rows = state.extra(Reconstruction).rows.numpy()
    assert len(rows) == min(recon_rows, N) and len(set(rows)) == len(rows)
    if not relations:
        assert enc.network_names == ("string_coexpression", "string_database")
        assert enc.zero_weights == (0.1, 1.0)  # the published λ rule
    h = state.aux["network_embeddings"]
    for i, name in enumerate(enc.network_names):
        with torch.no_grad():
            pred = enc.decoders[i](h[rows, i]).numpy()
        expected = dense_reference(graph, name, pred, rows, enc.zero_weights[i])
        assert state.extra(Reconstruction).errors[i].item() == pytest.approx(expected, rel=1e-5)
    loss = ReconstructionLoss(None, Context(encoder=enc))(torch.zeros(1, 1), torch.zeros(1, 1), state)
    assert loss.item() == pytest.approx(state.extra(Reconstruction).errors.sum().item())
    assert enc.eval()({}).extra(Reconstruction) is None  # evaluation computes none


@pytest.mark.parametrize("name", ["string_coexpression", "regulatory"])  # undirected, directed
def test_sage_layer_with_its_own_backward_matches_pyg_sageconv(graph, name):
    rel = graph.relations[name]
    torch.manual_seed(2)
    ours, pyg = MeanSAGEConv(8), SAGEConv(8, 8, aggr="mean")
    pyg.load_state_dict(ours.state_dict())
    x = torch.randn(N, 8, requires_grad=True)
    a = ours(x, MeanAdjacency(rel.message_index(), N, symmetric=not rel.directed))
    b = pyg(x, rel.message_index())
    torch.testing.assert_close(a, b)
    weight = torch.randn(N, 8)
    torch.testing.assert_close(torch.autograd.grad((a * weight).sum(), x)[0],
                               torch.autograd.grad((b * weight).sum(), x)[0])


def test_network_choice_and_lambda_overrides(graph):
    enc = encoder_for(graph, relations=["regulatory", "string_database"], zero_weight={"regulatory": 0.5})
    assert enc.network_names == ("regulatory", "string_database") and enc.zero_weights == (0.5, 1.0)
    with pytest.raises(ValueError, match="no relation 'string_fusion'.*relations are: string_coexpression"):
        encoder_for(graph, relations=["string_fusion"])
    with pytest.raises(ValueError, match="'physical' is not one of the encoder's networks"):
        encoder_for(graph, zero_weight={"physical": 0.1})


def test_meta_embedding_weights_sum_to_one_per_gene_and_mix_the_networks(graph):
    state = encoder_for(graph).eval()({})
    w, h = state.aux["network_weights"], state.aux["network_embeddings"]
    assert w.shape == (N, 2) and bool((w > 0).all())
    torch.testing.assert_close(w.sum(1), torch.ones(N))
    torch.testing.assert_close(state.genes, (w.unsqueeze(-1) * h).sum(1))
    assert w.std(0).max() > 0  # the weights are per gene, not one global mixture


def make_head(dim=8, labels=("a", "b")):
    torch.manual_seed(1)
    enc = type("Enc", (), {"dim": dim})()
    return HyperSAGNNHead(HyperSAGNNConfig(heads=2, head_dim=4), Context(label_names=labels, encoder=enc)).eval()


def padded(sets, k=None):
    k = k or max(len(s) for s in sets)
    genes = torch.tensor([list(s) + [0] * (k - len(s)) for s in sets])
    mask = torch.tensor([[True] * len(s) + [False] * (k - len(s)) for s in sets])
    return {"genes": genes, "kinds": torch.zeros_like(genes), "mask": mask}


def test_head_output_does_not_depend_on_the_order_of_genes_in_a_set():
    head, state = make_head(), CellState(genes=torch.randn(30, 8))
    sets = [(3, 7, 11), (2, 9), (5, 20, 1), (14, 6)]
    batch = padded(sets)
    out = head(state, batch).values
    assert out.shape == (4, 2)
    for perm in ([2, 0, 1], [1, 2, 0], [2, 1, 0]):  # reorders members and padding slots alike
        shuffled = {k: v[:, perm] for k, v in batch.items()}
        torch.testing.assert_close(head(state, shuffled).values, out)


def test_a_batch_mixing_pairs_and_triples_matches_the_sets_one_by_one():
    head, state = make_head(), CellState(genes=torch.randn(30, 8))
    sets = [(3, 7), (3, 7, 11), (12, 4, 0), (0, 25), (8,)]
    together = head(state, padded(sets)).values
    for i, s in enumerate(sets):
        torch.testing.assert_close(together[i], head(state, padded([s])).values[0])
    # a set of one has no partner: dynamic := static, so its score is the read-out bias exactly
    torch.testing.assert_close(together[4], head.out.bias)
    assert not torch.allclose(together[0], together[1])


def test_set_score_is_the_mean_of_the_squared_dynamic_static_difference():
    head, state = make_head(), CellState(genes=torch.randn(30, 8))
    batch = padded([(3, 7, 11), (2, 9)])
    dyn, stat, _ = head.attention(state.genes[batch["genes"]], batch["mask"])
    per_gene = head.out((head.norm_dynamic(dyn) - head.norm_static(stat)) ** 2)  # [B, K, L]
    expected = torch.stack([per_gene[0].mean(0), per_gene[1, :2].mean(0)])
    pred = head(state, batch)
    torch.testing.assert_close(pred.values, expected)
    # the strain embedding (for contrastive terms) is the set's mean of those features; read out, the prediction
    torch.testing.assert_close(head.out(pred.strain_embedding), expected)


def dango_model(graph, pretrain=1, transition=0):
    enc = encoder_for(graph, recon_rows=6, pretrain_epochs=pretrain, transition_epochs=transition,
                      joint_recon_weight=0.01)
    ctx = Context(graph=graph, label_names=("y",), encoder=enc)
    head = HyperSAGNNHead(HyperSAGNNConfig(heads=2, dropout_attention=0.0, dropout_feedforward=0.0,
                                           dropout_output=0.0), ctx)
    losses = {"logcosh": LogCoshLoss(), "dango_reconstruction": ReconstructionLoss(None, ctx)}
    return CellModel(enc, head, losses, {"logcosh": 1.0, "dango_reconstruction": 1.0}).train()


def head_grads(model, batch):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(5)  # the same sampled reconstruction rows every call
    out = model(batch)
    out["loss"].backward()
    return out, [p.grad for p in model.head.parameters()]


def test_schedule_factors(graph):
    s = Schedule(pretrain_epochs=2, transition_epochs=3, joint_recon_weight=0.01)
    main, recon = zip(*(s.factors(e) for e in range(7)))
    assert main == (0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0)
    assert recon == pytest.approx((1.0, 1.0, 0.7525, 0.505, 0.2575, 0.01, 0.01))
    # built outside the trainer (no on_epoch_start yet, e.g. `cellreg bench`): joint training
    assert (encoder_for(graph).main_factor, encoder_for(graph).recon_factor) == (1.0, 0.001)


def test_pretraining_leaves_the_head_untouched_and_joint_training_trains_it(graph):
    model = dango_model(graph)
    batch = {**padded([(1, 2), (3, 4, 5), (6, 7)]), "target": torch.tensor([[0.5], [-1.0], [float("nan")]])}
    model.encoder.on_epoch_start(0, 3)  # pretraining
    out, grads = head_grads(model, batch)
    assert out["loss/logcosh"] > 0 and all(g is None for g in grads)  # reported, trains nothing
    assert model.encoder.embedding.weight.grad.abs().sum() > 0  # the reconstruction trains the encoder
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    before = {k: v.clone() for k, v in model.head.state_dict().items()}
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in model.head.state_dict().items())  # not even weight decay

    model.encoder.on_epoch_start(1, 3)  # joint
    out_joint, joint = head_grads(model, batch)
    assert all(g is not None for g in joint) and sum(g.abs().sum() for g in joint) > 0
    assert out_joint["loss/dango_reconstruction"] < 0.02 * out["loss/dango_reconstruction"]


def test_transition_scales_the_head_gradient_not_the_reported_loss(graph):
    model = dango_model(graph, pretrain=1, transition=1)
    batch = {**padded([(1, 2), (3, 4, 5)]), "target": torch.tensor([[0.5], [-1.0]])}
    model.encoder.on_epoch_start(1, 4)  # halfway: main factor 0.5
    half, g_half = head_grads(model, batch)
    model.encoder.on_epoch_start(2, 4)  # joint
    full, g_full = head_grads(model, batch)
    assert half["loss/logcosh"] == full["loss/logcosh"]
    for a, b in zip(g_half, g_full):
        torch.testing.assert_close(a, 0.5 * b)


def test_example_uses_the_baselines_organism_and_split():
    dango, base = load_config(EXAMPLES / "dango.toml"), load_config(EXAMPLES / "baseline.toml")
    for field in ("graph", "phenotypes", "split", "seed"):
        assert getattr(dango, field) == getattr(base, field), field
    assert dango.model.encoder.name == "dango" and dango.train.labels == ["interaction"]


def test_a_short_run_pretrains_then_trains_jointly(tiny_config, tmp_path):
    out = tmp_path / "dango"
    report = run(tiny_config, out, [
        'model.encoder={name="dango", dim=16, recon_rows=64, pretrain_epochs=1, joint_recon_weight=0.001}',
        'model.head={name="hypersagnn", heads=2}', 'loss=[{name="logcosh"}, {name="dango_reconstruction"}]',
        'train.labels=["interaction"]', "train.epochs=2", "train.batch_size=512"])
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    parts = [h["train_loss_parts"] for h in history]
    # The trainer's on_epoch_start hook reached the encoder: the term drops to 0.001 × the error.
    assert parts[1]["dango_reconstruction"] < 0.01 * parts[0]["dango_reconstruction"]
    diag = [h["dango"] for h in history]  # epoch_diagnostics: factors, unscaled errors, network weights
    assert [d["main_factor"] for d in diag] == [0.0, 1.0] and [d["recon_factor"] for d in diag] == [1.0, 0.001]
    assert sum(diag[1]["network_weight"].values()) == pytest.approx(1.0, abs=1e-3)
    assert set(diag[1]["reconstruction"]) == {"physical", "regulatory", "coexpression"}
    assert np.isfinite(report["test"]["interaction"]["pearson"])
