"""The removal mechanisms' math against independent references: DSN's difference loss and
the normalised HSIC against numpy written differently, DANN's adversarial loss against a
plain cross-entropy with the gradient sign flipped, plus hypothesis properties.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangle_fas.heads import DomainClassifier
from disentangle_fas.losses import (
    AdversarialLoss,
    DifferenceLoss,
    HSICPenalty,
    adversarial_loss,
    difference_loss,
    hsic_penalty,
    one_hot_labels,
)


def _np_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Pairwise form: mean over (i, j) of (a_i . a_j)(b_i . b_j) on centred unit rows."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    n = len(a)
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += float(a[i] @ a[j]) * float(b[i] @ b[j])
    return total / (n * n)


def _np_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """tr(K H L H) / (n-1)^2 with Gaussian kernels, median-heuristic bandwidths (numpy)."""

    def gram(v: np.ndarray) -> np.ndarray:
        d2 = ((v[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        dist = np.sqrt(d2[~np.eye(len(v), dtype=bool)])
        sigma = np.median(dist[dist > 0]) if (dist > 0).any() else 1.0
        return np.exp(-d2 / (2 * sigma**2))

    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(gram(x) @ h @ gram(y) @ h)) / (n - 1) ** 2


def _np_nhsic(x: np.ndarray, y: np.ndarray) -> float:
    return _np_hsic(x, y) / np.sqrt(_np_hsic(x, x) * _np_hsic(y, y))


def test_difference_loss_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(9, 5, generator=g, dtype=torch.float64), torch.randn(9, 3, generator=g,
                                                                           dtype=torch.float64)  # fmt: skip
    assert float(difference_loss(a, b)) == pytest.approx(_np_difference(a.numpy(), b.numpy()))
    assert float(DifferenceLoss()(a, b)) == float(difference_loss(a, b))
    # Maps are pooled first.
    maps = a[:, :, None, None].expand(9, 5, 2, 2)
    assert float(difference_loss(maps, b)) == pytest.approx(float(difference_loss(a, b)))


def test_difference_loss_is_zero_for_uncorrelated_and_one_for_identical_directions() -> None:
    a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, -1.0], [0.0, -1.0]])
    assert float(difference_loss(a, b)) == pytest.approx(0.0, abs=1e-7)
    assert float(difference_loss(a, a)) == pytest.approx(1.0)


def test_difference_loss_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="same number"):
        difference_loss(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError, match="B >= 2"):
        difference_loss(torch.randn(1, 3), torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        difference_loss(torch.randn(4), torch.randn(4))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(3, 10),
    d=st.integers(1, 6),
    e=st.integers(1, 6),
    scale=st.floats(0.1, 10.0),
    shift=st.floats(-5.0, 5.0),
    seed=st.integers(0, 10_000),
)
def test_difference_loss_properties(n: int, d: int, e: int, scale: float, shift: float, seed: int) -> None:  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, generator=g, dtype=torch.float64)
    b = torch.randn(n, e, generator=g, dtype=torch.float64)
    value = float(difference_loss(a, b))
    assert -1e-12 <= value <= 1.0 + 1e-9
    # Symmetric; blind to a shift of the batch and to a global scale.
    assert float(difference_loss(b, a)) == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert float(difference_loss(scale * a + shift, b)) == pytest.approx(value, rel=1e-7, abs=1e-10)


def test_hsic_penalty_matches_numpy() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, generator=g, dtype=torch.float64)
    y = x[:, :2] ** 2 + 0.3 * torch.randn(16, 2, generator=g, dtype=torch.float64)
    assert float(hsic_penalty(x, y)) == pytest.approx(_np_nhsic(x.numpy(), y.numpy()), rel=1e-9)
    assert float(HSICPenalty()(x, y)) == float(hsic_penalty(x, y))
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    m = one_hot_labels(labels, 3, torch.float64)
    assert float(hsic_penalty(x, m)) == pytest.approx(_np_nhsic(x.numpy(), m.numpy()), rel=1e-9)


def test_hsic_penalty_is_one_for_a_rescaled_copy_and_small_for_independent_samples() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(256, 3, generator=g)
    assert float(hsic_penalty(x, 5.0 * x)) == pytest.approx(1.0, abs=1e-5)
    # The biased estimate of independent samples is small (its bias shrinks like 1/n).
    assert float(hsic_penalty(x, torch.randn(256, 3, generator=g))) < 0.05
    # A feature that encodes the labels is penalised far more than one that does not.
    labels = torch.arange(256) % 2
    coded = torch.randn(256, 3, generator=g) + 3.0 * labels[:, None].float()
    y = one_hot_labels(labels, 2)
    assert float(hsic_penalty(coded, y)) > 5 * float(hsic_penalty(x, y))


def test_one_hot_labels_refuses_float_labels() -> None:
    with pytest.raises(ValueError, match="integer"):
        one_hot_labels(torch.tensor([0.0, 1.0]), 2)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(4, 12), d=st.integers(1, 5), scale=st.floats(0.1, 10.0), seed=st.integers(0, 10_000))  # fmt: skip
def test_hsic_penalty_properties(n: int, d: int, scale: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.randn(n, 2, generator=g, dtype=torch.float64)
    value = float(hsic_penalty(x, y))
    assert -1e-9 <= value <= 1.0 + 1e-9
    assert float(hsic_penalty(y, x)) == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert float(hsic_penalty(scale * x, y)) == pytest.approx(value, rel=1e-6, abs=1e-9)


def test_adversarial_loss_value_is_the_adversarys_cross_entropy() -> None:
    torch.manual_seed(0)
    adv = DomainClassifier(6, 3)
    f = torch.randn(5, 6, dtype=torch.float64)
    adv = adv.double()
    labels = torch.tensor([0, 1, 2, 1, 0])
    logits = (f @ adv.net.weight.detach().T + adv.net.bias.detach()).numpy()
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    ref = -np.mean(logp[np.arange(5), labels.numpy()])
    assert float(adversarial_loss(f, labels, adv, coeff=0.7).detach()) == pytest.approx(ref)
    module = AdversarialLoss(adv, coeff=0.7)
    assert float(module(f, labels).detach()) == pytest.approx(ref)
    assert list(module.parameters()) == list(adv.parameters())


@pytest.mark.parametrize("coeff", [0.0, 0.5, 1.0])
def test_adversarial_loss_trains_the_adversary_and_reverses_the_encoder_gradient(coeff: float) -> None:  # fmt: skip
    torch.manual_seed(1)
    adv = DomainClassifier(4, 2)
    labels = torch.tensor([0, 1, 1, 0])
    f = torch.randn(4, 4, requires_grad=True)
    adversarial_loss(f, labels, adv, coeff=coeff).backward()
    g_f, g_w = f.grad.clone(), adv.net.weight.grad.clone()
    f.grad, adv.net.weight.grad = None, None
    F.cross_entropy(adv(f), labels).backward()
    assert f.grad is not None and adv.net.weight.grad is not None
    torch.testing.assert_close(g_f, -coeff * f.grad)  # the encoder ascends
    torch.testing.assert_close(g_w, adv.net.weight.grad)  # the adversary descends


def test_adversarial_loss_checks_labels() -> None:
    with pytest.raises(ValueError):
        adversarial_loss(torch.randn(3, 4), torch.tensor([0, 1, 5]), DomainClassifier(4, 3))


def test_half_precision_inputs_are_computed_in_float32_under_autocast() -> None:
    g = torch.Generator().manual_seed(5)
    a, b = torch.randn(12, 4, generator=g), torch.randn(12, 3, generator=g)
    a16, b16 = a.bfloat16(), b.bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = difference_loss(a16, b16)
        h = hsic_penalty(a16, b16)
    assert d.dtype == torch.float32 and h.dtype == torch.float32
    torch.testing.assert_close(d, difference_loss(a16.float(), b16.float()))
    torch.testing.assert_close(h, hsic_penalty(a16.float(), b16.float()))
