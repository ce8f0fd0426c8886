import math

import numpy as np
import pytest
import torch
from scipy import stats

from cellreg import CellState, Context
from cellreg_losses.distloss import DistLoss, DistLossConfig, kde_quantiles
from cellreg_losses.mse import MSELoss
from cellreg_losses.supcr import SupCRConfig, SupCRLoss, supcr
from cellreg_losses.uncertainty import UncertaintyConfig, UncertaintyWeighting

NAN = float("nan")
CTX = Context(label_names=("fitness", "interaction"))


def supcr_reference(emb, y, tau):
    """Straight from the formula, with Python loops."""
    z = torch.nn.functional.normalize(emb, dim=1)
    s = (z @ z.T / tau).tolist()
    n, total = len(y), 0.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            d_ij = abs(y[i] - y[j])
            denom = sum(math.exp(s[i][k]) for k in range(n) if k != i and abs(y[i] - y[k]) >= d_ij)
            total += -math.log(math.exp(s[i][j]) / denom)
    return total / (n * (n - 1))


def test_supcr_matches_the_formula_with_ties_and_any_chunking():
    torch.manual_seed(0)
    emb = torch.randn(7, 4)
    y = [0.0, 1.0, 1.0, 2.5, -1.0, 0.0, 3.0]  # ties in label and in distance
    ref = supcr_reference(emb, y, tau=0.5)
    for chunk in (1, 3, 256):
        assert supcr(emb, torch.tensor(y), 0.5, chunk).item() == pytest.approx(ref, rel=1e-5)


def test_supcr_is_invariant_to_a_common_shift_of_labels_and_masks_nan():
    torch.manual_seed(1)
    emb = torch.randn(16, 8)
    target = torch.randn(16, 2)
    loss = SupCRLoss(SupCRConfig(label="interaction"), CTX)
    state = CellState(strain_embedding=emb)
    base = loss(None, target, state)
    assert loss(None, target + 5.0, state).item() == pytest.approx(base.item(), rel=1e-6)
    target[3, 1] = NAN
    keep = [i for i in range(16) if i != 3]
    assert loss(None, target, state).item() == pytest.approx(supcr(emb[keep], target[keep, 1], 2.0).item(), rel=1e-6)
    with pytest.raises(ValueError, match="the head must return them in Prediction.strain_embedding"):
        loss(None, target, CellState())


def test_distloss_with_a_narrow_kernel_compares_sorted_predictions_with_sorted_labels():
    pred = torch.tensor([[0.3], [2.0], [-1.0], [0.9]])
    target = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    loss = DistLoss(DistLossConfig(bins=20000, bandwidth=1e-3), Context(label_names=("y",)))(pred, target)
    expected = ((torch.sort(pred[:, 0]).values - torch.sort(target[:, 0]).values) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=2e-3)


def test_kde_quantiles_follow_the_sample_distribution():
    samples = torch.from_numpy(np.random.default_rng(0).normal(size=4000)).float()
    q = kde_quantiles(samples, 9, bins=512, bandwidth=0.0)
    expected = stats.norm.ppf((np.arange(9) + 0.5) / 9) * math.sqrt(1 + (1.06 * 4000 ** -0.2) ** 2)
    np.testing.assert_allclose(q.numpy(), expected, atol=0.06)


def test_distloss_moves_the_prediction_histogram_toward_the_labels():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(512, 1))).float()
    y = 2 * x + torch.from_numpy(rng.normal(scale=0.3, size=(512, 1))).float()
    model = torch.nn.Linear(1, 1)
    torch.nn.init.zeros_(model.weight)
    loss_fn = DistLoss(DistLossConfig(), Context(label_names=("y",)))
    before = stats.wasserstein_distance(model(x).detach().ravel(), y.ravel())
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = stats.wasserstein_distance(model(x).detach().ravel(), y.ravel())
    assert after < 0.1 * before


def test_uncertainty_weighting_by_hand_and_with_one_label():
    loss_fn = UncertaintyWeighting(UncertaintyConfig(), CTX)
    with torch.no_grad():
        loss_fn.log_var.copy_(torch.tensor([0.5, -1.0]))
    pred = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    target = torch.tensor([[0.0, 1.0], [0.0, NAN]])
    mse = torch.tensor([0.5, 1.0])
    expected = (0.5 * torch.exp(-loss_fn.log_var) * mse + 0.5 * loss_fn.log_var).sum()
    assert loss_fn(pred, target).item() == pytest.approx(expected.item())
    single = UncertaintyWeighting(UncertaintyConfig(base="logcosh"), Context(label_names=("y",)))
    value = single(torch.tensor([[0.5]], requires_grad=True), torch.tensor([[0.0]]))
    value.backward()
    assert math.isfinite(value.item()) and torch.isfinite(single.log_var.grad).all()


TERMS = [
    MSELoss(),
    DistLoss(DistLossConfig(), CTX),
    SupCRLoss(SupCRConfig(), CTX),
    UncertaintyWeighting(UncertaintyConfig(), CTX),
    UncertaintyWeighting(UncertaintyConfig(base="logcosh"), CTX),
]


@pytest.mark.parametrize("term", TERMS, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize("case", ["equal_predictions", "label_all_missing"])
def test_gradients_stay_finite(term, case):
    pred = torch.zeros(8, 2, requires_grad=True) if case == "equal_predictions" else torch.randn(8, 2, requires_grad=True)
    target = torch.randn(8, 2)
    if case == "label_all_missing":
        target[:, 1] = NAN
    emb = torch.ones(8, 4, requires_grad=True) if case == "equal_predictions" else torch.randn(8, 4, requires_grad=True)
    value = term(pred, target, CellState(strain_embedding=emb), None)
    value.backward()
    assert math.isfinite(value.item())
    for grad in (pred.grad, emb.grad):
        assert grad is None or torch.isfinite(grad).all()


def test_composed_objective_logs_every_part_and_the_weighted_total(tiny_config, tmp_path):
    import json

    from cellreg.training.trainer import run

    terms = ('loss=[{name="mse", weight=1.0}, {name="distloss", weight=0.5, bins=256}, '
             '{name="supcr", weight=0.2, label="interaction"}, {name="uncertainty"}]')
    run(tiny_config, tmp_path / "r", ["train.epochs=1", terms])
    entry = json.loads((tmp_path / "r" / "metrics.jsonl").read_text().splitlines()[0])
    parts = entry["train_loss_parts"]
    assert set(parts) == {"mse", "distloss", "supcr", "uncertainty"}
    weighted = parts["mse"] + 0.5 * parts["distloss"] + 0.2 * parts["supcr"] + parts["uncertainty"]
    assert entry["train_loss"] == pytest.approx(weighted, rel=1e-4)


def distloss_reference(pred, labels, size, bins=256):
    """The running-buffer recipe written out: the last ``size`` training labels are the KDE's samples."""
    pseudo = kde_quantiles(labels[-size:], len(pred), bins, 0.0)
    return ((torch.sort(pred).values - pseudo) ** 2).mean()


def shifted_batches(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 1, generator=g), torch.randn(16, 1, generator=g) + shift) for shift in (0.0, 3.0, -10.0, 1.0)]


def test_distloss_buffer_takes_training_labels_only():
    (p1, y1), (p2, y2), (pe, ye), (p3, y3) = shifted_batches()
    loss = DistLoss(DistLossConfig(bins=256, buffer_size=24), Context(label_names=("y",))).train()
    seen = torch.cat([y1[:, 0], y2[:, 0]])
    assert loss(p1, y1).item() == pytest.approx(distloss_reference(p1[:, 0], y1[:, 0], 24).item(), rel=1e-6)
    assert loss(p2, y2).item() == pytest.approx(distloss_reference(p2[:, 0], seen, 24).item(), rel=1e-6)
    before = {k: v.clone() for k, v in loss.state_dict().items()}
    eval_value = loss.eval()(pe, ye)  # the buffer plus the batch's own labels, but nothing is kept
    assert eval_value.item() == pytest.approx(
        distloss_reference(pe[:, 0], torch.cat([seen, ye[:, 0]]), 24).item(), rel=1e-6)
    after = loss.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    value = loss.train()(p3, y3)  # the evaluation labels (mean -10) are not in the reference
    expected = distloss_reference(p3[:, 0], torch.cat([seen, y3[:, 0]]), 24)
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
    assert before.keys() == after.keys() == {"label_buffer", "label_count"}


def test_distloss_buffer_round_trips_through_state_dict_and_safetensors(tmp_path):
    from cellreg.training.checkpoint import load_weights, save_weights

    (p1, y1), (p2, y2), _, (p3, y3) = [(p.repeat(1, 2), torch.cat([y, 2 - y], 1)) for p, y in shifted_batches(1)]
    config, ctx = DistLossConfig(bins=256, buffer_size=40), Context(label_names=("a", "b"))
    y1[2, 1] = NAN
    trained = DistLoss(config, ctx).train()
    trained(p1, y1)
    trained(p2, y2)
    expected = trained.eval()(p3, y3)
    assert expected.item() != pytest.approx(DistLoss(config, ctx).eval()(p3, y3).item(), rel=1e-3)  # the buffer matters
    fresh = DistLoss(config, ctx).eval()
    fresh.load_state_dict(trained.state_dict())
    assert fresh(p3, y3).item() == pytest.approx(expected.item(), rel=1e-6)
    save_weights(trained, tmp_path / "loss.safetensors")  # how the trainer checkpoints: buffers included
    resumed = DistLoss(config, ctx).eval()
    load_weights(resumed, tmp_path / "loss.safetensors")  # strict
    assert resumed(p3, y3).item() == pytest.approx(expected.item(), rel=1e-6)
    assert torch.equal(resumed.label_buffer, trained.label_buffer)
    assert trained.label_count.tolist() == [32, 31]  # one label of the second column was missing
    assert DistLoss(DistLossConfig(), ctx).state_dict() == {}  # no running buffer, nothing to save
