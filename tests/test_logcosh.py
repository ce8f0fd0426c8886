"""The log-cosh loss term: exact where cosh is representable, finite where it is not, and masked per
label like every regression term."""

import numpy as np
import pytest
import torch

from cellreg.plugin_api.registry import default_registry
from cellreg_losses.logcosh import LogCoshLoss, log_cosh


def test_log_cosh_matches_float64_reference_and_its_gradient_is_tanh():
    x = torch.linspace(-30, 30, 601, dtype=torch.float32, requires_grad=True)
    expected = np.log(np.cosh(x.detach().double().numpy()))
    value = log_cosh(x)
    np.testing.assert_allclose(value.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    value.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tanh(x.detach().numpy()), atol=1e-6)


def test_log_cosh_stays_finite_where_cosh_overflows():
    x = torch.tensor([-1e4, -100.0, 100.0, 1e4], requires_grad=True)
    assert torch.isinf(torch.log(torch.cosh(x.detach()))).all()  # the naive form fails here
    value = log_cosh(x)
    np.testing.assert_allclose(value.detach().numpy(), x.detach().abs().numpy() - np.log(2), rtol=1e-6)
    value.sum().backward()
    assert torch.equal(x.grad, torch.tensor([-1.0, -1.0, 1.0, 1.0]))


def test_logcosh_masks_missing_labels_per_label():
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], requires_grad=True)
    target = torch.tensor([[0.0, float("nan")], [1.0, 1.0], [0.0, float("nan")]])
    loss = LogCoshLoss()(pred, target)
    lc = lambda r: np.log(np.cosh(r))  # noqa: E731
    expected = ((lc(1) + lc(2) + lc(0)) / 3 + lc(3) / 1) / 2  # per label over measured entries, then labels
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0, 1] == 0 and pred.grad[2, 1] == 0


def test_logcosh_with_an_all_missing_label_stays_finite():
    pred = torch.zeros(4, 2, requires_grad=True)
    target = torch.tensor([[2.0, float("nan")]] * 4)
    loss = LogCoshLoss()(pred, target)
    loss.backward()
    assert loss.item() == pytest.approx(np.log(np.cosh(2.0)), rel=1e-6) and torch.isfinite(pred.grad).all()


def test_logcosh_is_a_registered_loss_term():
    plugin = default_registry().get("loss", "LogCosh")
    assert plugin.name == "logcosh" and plugin.load_factory() is LogCoshLoss
