"""Supervised contrastive loss against pytorch-metric-learning, a numpy loop and SA-FAS."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import losses as pml_losses

from disentangle_fas.losses import SupConLoss, supcon_loss


def _numpy_supcon(features: np.ndarray, labels: np.ndarray, tau: float, tau_b: float) -> float:
    """Definition by loops: every view an anchor, mean over anchors with a positive."""
    b, v, _ = features.shape
    z = features / np.linalg.norm(features, axis=-1, keepdims=True)
    flat = [(z[i, j], labels[i]) for j in range(v) for i in range(b)]
    terms = []
    for a, (za, ya) in enumerate(flat):
        den = sum(np.exp(za @ zo / tau) for o, (zo, _) in enumerate(flat) if o != a)
        pos = [np.log(np.exp(za @ zp / tau) / den) for p, (zp, yp) in enumerate(flat)
               if p != a and yp == ya]  # fmt: skip
        if pos:
            terms.append(-(tau / tau_b) * np.mean(pos))
    return float(np.mean(terms)) if terms else 0.0


def _official_supcon(
    features: torch.Tensor, labels: torch.Tensor, temperature: float
) -> torch.Tensor:
    """SA-FAS ``loss/__init__.py::supcon_loss`` restated (labels path, normalised input)."""
    base_temperature = 0.07
    batch_size = features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).float()
    contrast_count = features.shape[1]
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_dot_contrast = torch.div(contrast_feature @ contrast_feature.T, temperature)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(contrast_count, contrast_count)
    logits_mask = torch.scatter(
        torch.ones_like(mask), 1, torch.arange(batch_size * contrast_count).view(-1, 1), 0
    )
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return loss.view(contrast_count, batch_size).mean()


def _pml(features: torch.Tensor, labels: torch.Tensor, tau: float, tau_b: float) -> torch.Tensor:
    v = features.shape[1]
    flat = torch.cat(torch.unbind(features, dim=1), dim=0)
    ref = pml_losses.SupConLoss(temperature=tau)(flat, labels.repeat(v))
    return ref * (tau / tau_b)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_matches_pytorch_metric_learning(tau: float) -> None:
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(12, 2, 16, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (12,), generator=gen)
    ours = supcon_loss(f, y, temperature=tau, base_temperature=0.07)
    torch.testing.assert_close(ours, _pml(f, y, tau, 0.07))


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_without_labels_is_nt_xent_of_pytorch_metric_learning(tau: float) -> None:
    # Two views, one class per sample: each anchor has one positive, so SupContrast's
    # denominator (every other view) is NT-Xent's (the positive and the negatives).
    gen = torch.Generator().manual_seed(1)
    f = torch.randn(10, 2, 16, generator=gen, dtype=torch.float64)
    ours = supcon_loss(f, temperature=tau, base_temperature=tau)
    flat = torch.cat(torch.unbind(f, dim=1), dim=0)
    ref = pml_losses.NTXentLoss(temperature=tau)(flat, torch.arange(10).repeat(2))
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(
        ours, supcon_loss(f, torch.arange(10), temperature=tau, base_temperature=tau)
    )
    module = SupConLoss(temperature=tau, base_temperature=tau)
    torch.testing.assert_close(module(f), ours)


def test_matches_numpy_loop_and_the_official_code() -> None:
    gen = torch.Generator().manual_seed(1)
    f = torch.randn(6, 3, 5, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 1, 10, 11, 0, 10])
    ours = supcon_loss(f, y)
    assert ours.item() == pytest.approx(_numpy_supcon(f.numpy(), y.numpy(), 0.1, 0.07), rel=1e-9)
    official = _official_supcon(torch.nn.functional.normalize(f, dim=-1), y, 0.1)
    torch.testing.assert_close(ours, official)


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(2, 6),
    v=st.integers(1, 3),
    d=st.integers(2, 6),
    classes=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_property_against_numpy(b: int, v: int, d: int, classes: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    f = torch.randn(b, v, d, generator=gen, dtype=torch.float64)
    y = torch.randint(0, classes, (b,), generator=gen)
    ours = supcon_loss(f, y, temperature=0.3, base_temperature=0.2)
    assert torch.isfinite(ours)
    assert ours.item() == pytest.approx(_numpy_supcon(f.numpy(), y.numpy(), 0.3, 0.2), abs=1e-9)


def test_scale_invariant_and_lower_when_classes_cluster() -> None:
    gen = torch.Generator().manual_seed(2)
    f = torch.randn(8, 2, 4, generator=gen)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    torch.testing.assert_close(supcon_loss(f, y), supcon_loss(5.0 * f, y))
    centres = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    clustered = centres[y][:, None, :] + 0.01 * f
    assert supcon_loss(clustered, y) < supcon_loss(f, y)


def test_module_equals_function_and_gradcheck() -> None:
    gen = torch.Generator().manual_seed(3)
    f = torch.randn(4, 2, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1])
    module = SupConLoss(temperature=0.2, base_temperature=0.1)
    torch.testing.assert_close(
        module(f, y), supcon_loss(f, y, temperature=0.2, base_temperature=0.1)
    )
    assert "temperature=0.2" in repr(module)
    assert torch.autograd.gradcheck(lambda x: supcon_loss(x, y), (f,))


def test_no_positive_anywhere_is_zero_with_a_gradient() -> None:
    f = torch.randn(3, 1, 4, requires_grad=True)
    loss = supcon_loss(f, torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0
    loss.backward()
    assert f.grad is not None


@pytest.mark.parametrize(
    ("features", "labels", "kwargs", "error"),
    [
        (torch.randn(4, 8), torch.zeros(4, dtype=torch.long), {}, ValueError),
        (torch.randn(4, 2, 8), torch.zeros(3, dtype=torch.long), {}, ValueError),
        (torch.randn(4, 2, 8), torch.zeros(4), {}, TypeError),
        (torch.ones(4, 2, 8, dtype=torch.long), torch.zeros(4, dtype=torch.long), {}, TypeError),
        (torch.randn(4, 2, 8), torch.zeros(4, dtype=torch.long), {"temperature": 0.0}, ValueError),
        (torch.randn(0, 2, 8), torch.zeros(0, dtype=torch.long), {}, ValueError),
        ([1.0], torch.zeros(1, dtype=torch.long), {}, TypeError),
    ],
)
def test_bad_inputs(
    features: object, labels: torch.Tensor, kwargs: dict[str, float], error: type
) -> None:
    with pytest.raises(error, match="supcon_loss"):
        supcon_loss(features, labels, **kwargs)  # type: ignore[arg-type]
