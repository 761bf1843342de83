"""Gradient reversal: identity forward, exactly -coeff * grad backward; the warm-up schedule."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.nn import ScheduledReversal
from disentangle_fas.ssan import SSANObjective
from disentangle_fas.ssdg import (
    GradientReversal,
    SingleSideDiscriminator,
    SSDGObjective,
    grad_reverse,
    grl_schedule,
)


@pytest.mark.parametrize("coeff", [0.0, 0.25, 1.0, 3.5])
def test_forward_is_identity_and_backward_is_minus_coeff_times_grad(coeff: float) -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(4, 5, dtype=torch.float64)
    y = grad_reverse(x, coeff)
    assert torch.equal(y, x)
    (grad,) = torch.autograd.grad(y, x, upstream)
    assert torch.equal(grad, -coeff * upstream)
    # Through a non-linear function: the chain rule gives -coeff times the true gradient.
    z = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    (plain,) = torch.autograd.grad(torch.sin(z * 2).pow(2).sum(), z)
    (reversed_,) = torch.autograd.grad(torch.sin(grad_reverse(z, coeff) * 2).pow(2).sum(), z)
    torch.testing.assert_close(reversed_, -coeff * plain, rtol=0, atol=1e-15)


def test_hand_computed_case() -> None:
    # L = sum(w * GRL(x)) => dL/dx = -coeff * w.
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    w = torch.tensor([0.5, 2.0, -4.0])
    (w * grad_reverse(x, 0.5)).sum().backward()
    assert x.grad is not None
    assert x.grad.tolist() == [-0.25, -1.0, 2.0]


def test_gradient_before_the_layer_is_untouched_after_it() -> None:
    # Parameters *after* the GRL receive their ordinary gradient; only the input is reversed.
    lin = torch.nn.Linear(3, 1).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    lin(grad_reverse(x, 0.7)).sum().backward()
    w_grad = lin.weight.grad.clone()  # type: ignore[union-attr]
    x_grad = x.grad.clone()  # type: ignore[union-attr]
    lin.zero_grad()
    x.grad = None
    lin(x).sum().backward()
    torch.testing.assert_close(w_grad, lin.weight.grad)
    torch.testing.assert_close(x_grad, -0.7 * x.grad)  # type: ignore[operator]


def test_module_uses_its_coeff_attribute_and_per_call_override() -> None:
    grl = GradientReversal(2.0)
    x = torch.ones(3, requires_grad=True)
    grl(x).sum().backward()
    assert x.grad is not None and x.grad.tolist() == [-2.0] * 3
    grl.coeff = 0.5
    x.grad = None
    grl(x).sum().backward()
    assert x.grad.tolist() == [-0.5] * 3
    x.grad = None
    grl(x, coeff=0.0).sum().backward()
    assert x.grad.tolist() == [0.0] * 3
    assert grl.coeff == 0.5
    assert "coeff=0.5" in repr(grl)
    assert list(grl.parameters()) == []


def test_invalid_coeff() -> None:
    with pytest.raises(ValueError, match="coeff"):
        grad_reverse(torch.ones(2), -1.0)
    with pytest.raises(ValueError, match="coeff"):
        grad_reverse(torch.ones(2), math.nan)
    with pytest.raises(ValueError, match="coeff"):
        GradientReversal(math.inf)
    grl = GradientReversal()
    with pytest.raises(ValueError, match="coeff"):
        grl.coeff = -0.1
    with pytest.raises(TypeError, match="Tensor"):
        grad_reverse([1.0, 2.0], 1.0)  # type: ignore[arg-type]


def test_schedule_values() -> None:
    assert grl_schedule(0.0) == 0.0
    assert grl_schedule(0.5) == pytest.approx(2.0 / (1.0 + math.exp(-5.0)) - 1.0, abs=1e-15)
    assert grl_schedule(0.5) == pytest.approx(0.9866142981514303, abs=1e-12)
    assert grl_schedule(1.0) == pytest.approx(0.9999092042625951, abs=1e-12)
    assert grl_schedule(1.0, gamma=2.0) == pytest.approx(math.tanh(1.0), abs=1e-15)


@given(p=st.floats(0, 1), q=st.floats(0, 1), gamma=st.floats(0.1, 50))
def test_schedule_is_tanh_and_monotone(p: float, q: float, gamma: float) -> None:
    assert grl_schedule(p, gamma) == pytest.approx(math.tanh(gamma * p / 2), abs=1e-12)
    assert 0.0 <= grl_schedule(p, gamma) < 1.0 + 1e-15
    if p <= q:
        assert grl_schedule(p, gamma) <= grl_schedule(q, gamma) + 1e-15


def test_schedule_errors() -> None:
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(ValueError, match="progress"):
            grl_schedule(bad)
    with pytest.raises(ValueError, match="gamma"):
        grl_schedule(0.5, gamma=0.0)


@given(st.floats(0.0, 1.0), st.floats(0.5, 20.0))
def test_both_adversarial_objectives_follow_the_schedule(p: float, gamma: float) -> None:
    objectives = [
        SSANObjective(DomainClassifier(8, 2), grl_gamma=gamma),
        SSDGObjective(SingleSideDiscriminator(8, 2, 16), LMCLHead(8, 2), grl_gamma=gamma),
    ]
    for objective in objectives:
        assert isinstance(objective, ScheduledReversal)
        # Independent reference: 2 / (1 + exp(-gamma p)) - 1.
        expected = 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0
        assert math.isclose(objective.grl_coeff(p), expected, abs_tol=1e-12)
