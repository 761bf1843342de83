"""Loss math against independent references (numpy loops, pytorch-metric-learning) and
hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pytorch_metric_learning.losses import CosFaceLoss

from disentangle_fas.heads import LMCLHead
from disentangle_fas.losses import (
    ConfusionLoss,
    ContentLoss,
    DomainLoss,
    LMCLLoss,
    confusion_loss,
    content_loss,
    domain_loss,
    lmcl_loss,
)

finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False, width=32)


def _np_log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _lmcl_reference(cos: np.ndarray, labels: np.ndarray, scale: float, margin: float) -> float:
    """Eq. (5) written as a loop over samples, with the paper's two-term denominator."""
    total = 0.0
    for j in range(cos.shape[0]):
        y = labels[j]
        target = np.exp(scale * (cos[j, y] - margin))
        others = sum(np.exp(scale * cos[j, k]) for k in range(cos.shape[1]) if k != y)
        total += -np.log(target / (target + others))
    return total / cos.shape[0]


@given(
    cos=arrays(np.float64, st.tuples(st.integers(1, 6), st.just(2)), elements=st.floats(-1, 1)),
    data=st.data(),
    scale=st.floats(0.5, 30),
    margin=st.floats(0, 0.8),
)
def test_lmcl_matches_hand_loop(
    cos: np.ndarray, data: st.DataObject, scale: float, margin: float
) -> None:
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=len(cos), max_size=len(cos))))
    got = lmcl_loss(torch.from_numpy(cos), torch.from_numpy(labels), scale=scale, margin=margin)
    assert got.item() == pytest.approx(
        _lmcl_reference(cos, labels, scale, margin), rel=1e-9, abs=1e-9
    )


@pytest.mark.parametrize("seed", range(3))
def test_lmcl_matches_pytorch_metric_learning_cosface(seed: int) -> None:
    torch.manual_seed(seed)
    head = LMCLHead(16, 2, scale=12.0, margin=0.3)
    ref = CosFaceLoss(num_classes=2, embedding_size=16, margin=0.3, scale=12.0)
    with torch.no_grad():
        ref.W.copy_(head.weight.t())  # pml stores W as (d, classes)
    emb = torch.randn(10, 16)
    labels = torch.randint(0, 2, (10,))
    ours = lmcl_loss(head(emb), labels, scale=12.0, margin=0.3)
    torch.testing.assert_close(ours, ref(emb, labels), rtol=1e-5, atol=1e-6)


def test_lmcl_margin_zero_is_scaled_softmax_ce() -> None:
    cos = torch.rand(7, 2) * 2 - 1
    y = torch.randint(0, 2, (7,))
    torch.testing.assert_close(
        lmcl_loss(cos, y, scale=5.0, margin=0.0), torch.nn.functional.cross_entropy(5.0 * cos, y)
    )


def test_lmcl_margin_increases_loss() -> None:
    cos = torch.rand(7, 2) * 2 - 1
    y = torch.randint(0, 2, (7,))
    assert lmcl_loss(cos, y, margin=0.5) > lmcl_loss(cos, y, margin=0.1)


def test_lmcl_module_equals_function_and_gradcheck() -> None:
    cos = (torch.rand(5, 2, dtype=torch.float64) * 2 - 1).requires_grad_()
    y = torch.tensor([0, 1, 1, 0, 1])
    assert LMCLLoss(8.0, 0.2)(cos, y).item() == lmcl_loss(cos, y, scale=8.0, margin=0.2).item()
    assert torch.autograd.gradcheck(lambda c: lmcl_loss(c, y, scale=8.0, margin=0.2), (cos,))


def test_lmcl_errors() -> None:
    cos = torch.zeros(3, 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        lmcl_loss(cos, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        lmcl_loss(cos, torch.tensor([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        lmcl_loss(cos, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        lmcl_loss(torch.zeros(3), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="scale"):
        lmcl_loss(cos, torch.tensor([0, 1, 1]), scale=-1.0)
    with pytest.raises(ValueError, match="margin"):
        lmcl_loss(cos, torch.tensor([0, 1, 1]), margin=-0.1)


def test_lmcl_extreme_values_stay_finite() -> None:
    cos = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    loss = lmcl_loss(cos, torch.tensor([1, 1]), scale=64.0, margin=0.35)
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(0.5 * (64 * 2.35), rel=1e-4)  # first sample is hopeless


@given(logits=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)), elements=finite))
def test_confusion_matches_hand_loop_and_bounds(logits: np.ndarray) -> None:
    k = logits.shape[1]
    expected = 0.0
    for row in logits:
        p = np.exp(row - row.max())
        p /= p.sum()
        expected += sum((p[i] - 1.0 / k) ** 2 for i in range(k))
    expected /= logits.shape[0]
    got = confusion_loss(torch.from_numpy(logits)).item()
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert -1e-12 <= got <= 1.0 - 1.0 / k + 1e-12
    shifted = confusion_loss(torch.from_numpy(logits + 3.0)).item()  # softmax shift invariance
    assert shifted == pytest.approx(got, rel=1e-9, abs=1e-12)


@given(c=finite, b=st.integers(1, 5), k=st.integers(2, 6))
def test_confusion_is_zero_exactly_at_uniform(c: float, b: int, k: int) -> None:
    assert confusion_loss(torch.full((b, k), c, dtype=torch.float64)).item() == pytest.approx(
        0.0, abs=1e-15
    )


def test_confusion_extremes() -> None:
    big = torch.tensor([[1000.0, -1000.0]])
    assert confusion_loss(big).item() == pytest.approx(0.5)  # (1-1/2)^2 + (0-1/2)^2
    assert confusion_loss(torch.tensor([[1e4, 0.0, 0.0, 0.0]])).item() == pytest.approx(0.75)
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(confusion_loss, (z,))
    assert ConfusionLoss()(z).item() == confusion_loss(z).item()
    with pytest.raises(ValueError, match="at least 2"):
        confusion_loss(torch.zeros(3, 1))


@given(
    x=arrays(np.float64, (3, 2, 4, 4), elements=finite),
    y=arrays(np.float64, (3, 2, 4, 4), elements=finite),
)
def test_content_loss_matches_numpy(x: np.ndarray, y: np.ndarray) -> None:
    per_sample = [((x[j] - y[j]) ** 2).sum() for j in range(3)]
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    assert content_loss(tx, ty, per_element=False).item() == pytest.approx(
        np.mean(per_sample), rel=1e-9, abs=1e-9
    )
    assert content_loss(tx, ty).item() == pytest.approx(
        np.mean(per_sample) / 32, rel=1e-9, abs=1e-9
    )
    assert (
        ContentLoss(per_element=False)(tx, ty).item()
        == content_loss(tx, ty, per_element=False).item()
    )


def test_content_loss_never_reaches_the_target() -> None:
    pred = torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    target = torch.randn(2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    content_loss(pred, target).backward()
    assert target.grad is None and pred.grad is not None
    p2 = pred.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda p: content_loss(p, target.detach()), (p2,))
    with pytest.raises(ValueError, match="differ"):
        content_loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 8, 8))


def test_loss_scale_does_not_depend_on_batch_size() -> None:
    torch.manual_seed(0)
    cos, y = torch.rand(4, 2) * 2 - 1, torch.tensor([0, 1, 0, 1])
    logits, d = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    pred, tgt = torch.rand(4, 1, 4, 4), torch.rand(4, 1, 4, 4)
    two = lambda t: torch.cat([t, t])  # noqa: E731
    assert lmcl_loss(two(cos), two(y)).item() == pytest.approx(lmcl_loss(cos, y).item())
    assert confusion_loss(two(logits)).item() == pytest.approx(confusion_loss(logits).item())
    assert domain_loss(two(logits), two(d)).item() == pytest.approx(domain_loss(logits, d).item())
    assert content_loss(two(pred), two(tgt)).item() == pytest.approx(content_loss(pred, tgt).item())


@given(
    logits=arrays(np.float64, st.tuples(st.integers(1, 6), st.just(4)), elements=finite),
    data=st.data(),
)
def test_domain_loss_matches_numpy(logits: np.ndarray, data: st.DataObject) -> None:
    d = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(logits), max_size=len(logits))))
    onehot = np.eye(4)[d]
    expected = -(onehot * _np_log_softmax(logits)).sum(axis=1).mean()
    got = domain_loss(torch.from_numpy(logits), torch.from_numpy(d))
    assert got.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert DomainLoss()(torch.from_numpy(logits), torch.from_numpy(d)).item() == got.item()


def test_domain_loss_gradcheck_and_errors() -> None:
    z = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    d = torch.tensor([0, 2, 1, 1])
    assert torch.autograd.gradcheck(lambda t: domain_loss(t, d), (z,))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        domain_loss(z, torch.tensor([0, 3, 1, 1]))
    with pytest.raises(TypeError, match="Tensor"):
        domain_loss(z, [0, 1, 1, 1])  # type: ignore[arg-type]
