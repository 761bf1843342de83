"""Asymmetric triplet loss against a hand loop and pytorch-metric-learning, the asymmetric
class assignment, and hypothesis properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pytorch_metric_learning.distances import LpDistance
from pytorch_metric_learning.losses import TripletMarginLoss

from disentangle_fas.ssdg import (
    AsymmetricTripletLoss,
    asymmetric_classes,
    asymmetric_triplet_loss,
    batch_all_triplet_loss,
    pairwise_distances,
)


def _reference(
    f: np.ndarray,
    labels: list[int],
    domains: list[int],
    margin: float,
    reduction: str = "positive",
    squared: bool = False,
) -> float:
    """Explicit triple loop; classes written out by the rule (real -> one class, fake ->
    one class per domain)."""

    def cls(i: int) -> tuple[str, int]:
        return ("real", -1) if labels[i] == 1 else ("fake", domains[i])

    def dist(i: int, j: int) -> float:
        d2 = float(sum((f[i, k] - f[j, k]) ** 2 for k in range(f.shape[1])))
        return d2 if squared else d2**0.5

    losses = []
    n = len(labels)
    for a, p, q in itertools.product(range(n), repeat=3):
        if len({a, p, q}) < 3 or cls(a) != cls(p) or cls(a) == cls(q):
            continue
        losses.append(max(0.0, dist(a, p) - dist(a, q) + margin))
    if reduction == "valid":
        return sum(losses) / len(losses) if losses else 0.0
    active = [v for v in losses if v > 1e-16]
    return sum(active) / len(active) if active else 0.0


@st.composite
def batches(draw: st.DrawFn, min_size: int = 1, max_size: int = 9) -> tuple:
    n = draw(st.integers(min_size, max_size))
    dim = draw(st.integers(1, 4))
    f = draw(arrays(np.float64, (n, dim), elements=st.floats(-2, 2, width=32)))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    domains = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return f, labels, domains


@given(batch=batches(), margin=st.floats(0, 1), reduction=st.sampled_from(["positive", "valid"]))
def test_matches_hand_loop(batch: tuple, margin: float, reduction: str) -> None:
    f, labels, domains = batch
    got = asymmetric_triplet_loss(
        torch.from_numpy(f),
        torch.tensor(labels),
        torch.tensor(domains),
        margin,
        reduction=reduction,  # type: ignore[arg-type]
    )
    expected = _reference(f, labels, domains, margin, reduction)
    assert got.item() == pytest.approx(expected, rel=1e-7, abs=1e-7)
    assert got.item() >= 0.0


@given(batch=batches(min_size=3), margin=st.floats(0, 1))
def test_squared_matches_hand_loop(batch: tuple, margin: float) -> None:
    f, labels, domains = batch
    got = asymmetric_triplet_loss(
        torch.from_numpy(f), torch.tensor(labels), torch.tensor(domains), margin, squared=True
    )
    assert got.item() == pytest.approx(
        _reference(f, labels, domains, margin, squared=True), rel=1e-7, abs=1e-7
    )


@given(batch=batches(min_size=3), margin=st.floats(0, 1))
def test_valid_average_never_exceeds_positive_average(batch: tuple, margin: float) -> None:
    f, labels, domains = batch
    args = (torch.from_numpy(f), torch.tensor(labels), torch.tensor(domains), margin)
    valid = asymmetric_triplet_loss(*args, reduction="valid").item()
    positive = asymmetric_triplet_loss(*args, reduction="positive").item()
    assert 0.0 <= valid <= positive + 1e-12


@given(
    data=st.data(),
    num_domains=st.integers(2, 3),
    per_class=st.integers(1, 3),
    margin=st.floats(0, 1),
)
def test_zero_when_classes_are_separated_by_more_than_the_margin(
    data: st.DataObject, num_domains: int, per_class: int, margin: float
) -> None:
    # Class centres 10 apart on one axis; jitter within a box of half-width 0.5 (radius
    # <= 0.87 in 3-D), so every d(a, p) <= 1.74 < d(a, n) - margin.
    labels, domains, centres = [], [], []
    for d in range(num_domains):
        for _ in range(per_class):
            labels += [1, 0]
            domains += [d, d]
            centres += [0.0, 10.0 * (d + 1)]
    n = len(labels)
    jitter = data.draw(arrays(np.float64, (n, 3), elements=st.floats(-0.5, 0.5)))
    f = jitter.copy()
    f[:, 0] += np.array(centres)
    loss = asymmetric_triplet_loss(
        torch.from_numpy(f), torch.tensor(labels), torch.tensor(domains), margin
    )
    assert loss.item() == 0.0


def test_asymmetric_class_assignment() -> None:
    labels = torch.tensor([1, 1, 1, 0, 0, 0, 0])
    domains = torch.tensor([0, 1, 2, 0, 1, 2, 2])
    assert asymmetric_classes(labels, domains).tolist() == [0, 0, 0, 1, 2, 3, 3]


def test_reals_of_different_domains_are_one_class_fakes_are_not() -> None:
    y = torch.tensor([1, 1, 0, 0, 0, 0])
    d = torch.tensor([0, 1, 0, 0, 1, 1])
    far = 5.0
    # (a) reals together, each domain's fakes together and apart from the other domain's
    #     fakes and from the reals: nothing to do.
    f = torch.tensor([[0.0, 0], [0, 0], [far, 0], [far, 0], [0, far], [0, far]])
    assert asymmetric_triplet_loss(f, y, d).item() == 0.0
    # (b) the two domains' fakes collapse onto one point: they are different classes, so
    #     every (fake, same-domain fake, other-domain fake) triplet costs the margin; a
    #     symmetric live/spoof labelling would be satisfied.
    f = torch.tensor([[0.0, 0], [0, 0], [far, 0], [far, 0], [far, 0], [far, 0]])
    assert asymmetric_triplet_loss(f, y, d, 0.1).item() == pytest.approx(0.1)
    assert batch_all_triplet_loss(f, y, 0.1).item() == 0.0
    # (c) the two domains' reals are far apart: they are one class, so the loss is positive;
    #     a per-domain labelling of the reals would be satisfied.
    f = torch.tensor([[0.0, 0], [0, 2 * far], [far, 0], [far, 0], [-far, 0], [-far, 0]])
    assert asymmetric_triplet_loss(f, y, d).item() > 0.0
    assert batch_all_triplet_loss(f, torch.tensor([0, 1, 2, 2, 3, 3])).item() == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_matches_pytorch_metric_learning_batch_all(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(12, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (12,), generator=g)
    d = torch.randint(0, 3, (12,), generator=g)
    ref = TripletMarginLoss(margin=0.3, distance=LpDistance(normalize_embeddings=False))
    expected = ref(f, asymmetric_classes(y, d))
    got = asymmetric_triplet_loss(f, y, d, 0.3)
    torch.testing.assert_close(got, expected.to(got.dtype), rtol=1e-9, atol=1e-9)


def test_module_equals_function_and_gradcheck() -> None:
    g = torch.Generator().manual_seed(3)
    f = torch.randn(8, 4, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1, 0, 1, 0, 1, 0, 1, 0])
    d = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    module = AsymmetricTripletLoss(0.5, reduction="valid")
    assert module(f, y, d).item() == asymmetric_triplet_loss(f, y, d, 0.5, reduction="valid").item()
    assert "reduction='valid'" in repr(module)
    for reduction in ("positive", "valid"):
        assert torch.autograd.gradcheck(
            lambda x, r=reduction: asymmetric_triplet_loss(x, y, d, 0.5, reduction=r), (f,)
        )


def test_identical_features_give_finite_gradients() -> None:
    f = torch.zeros(6, 3, requires_grad=True)
    y = torch.tensor([1, 1, 0, 0, 0, 0])
    d = torch.tensor([0, 1, 0, 0, 1, 1])
    loss = asymmetric_triplet_loss(f, y, d, 0.1)
    assert loss.item() == pytest.approx(0.1)  # every valid triplet: 0 - 0 + margin
    loss.backward()
    assert f.grad is not None and torch.isfinite(f.grad).all()
    dist = pairwise_distances(torch.ones(3, 2, dtype=torch.float64, requires_grad=True))
    assert torch.equal(dist, torch.zeros(3, 3, dtype=torch.float64))


def test_no_valid_triplet_gives_zero_with_a_graph() -> None:
    f = torch.randn(3, 4, requires_grad=True)
    loss = asymmetric_triplet_loss(f, torch.tensor([1, 1, 1]), torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert f.grad is not None and torch.equal(f.grad, torch.zeros(3, 4))
    empty = torch.zeros(0, 4, requires_grad=True)
    assert (
        asymmetric_triplet_loss(
            empty, torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
        ).item()
        == 0.0
    )


def test_pairwise_distances_match_numpy() -> None:
    x = np.random.default_rng(0).normal(size=(7, 5))
    expected = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    got = pairwise_distances(torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        pairwise_distances(torch.from_numpy(x), squared=True).numpy(), expected**2, rtol=1e-12
    )
    assert np.all(np.diag(got.numpy()) == 0.0)
    # Nearby points far from the origin keep accurate distances (no Gram cancellation).
    near = torch.tensor([[1.0, 0.0], [1.0, 1e-4]], dtype=torch.float32) * 100
    assert pairwise_distances(near)[0, 1].item() == pytest.approx(1e-2, rel=1e-5)


def test_errors() -> None:
    f = torch.zeros(3, 2)
    y, d = torch.tensor([1, 0, 0]), torch.tensor([0, 1, 1])
    with pytest.raises(ValueError, match="labels must be 1"):
        asymmetric_triplet_loss(f, torch.tensor([1, 2, 0]), d)
    with pytest.raises(ValueError, match=">= 0"):
        asymmetric_triplet_loss(f, y, torch.tensor([0, -1, 1]))
    with pytest.raises(TypeError, match="integer"):
        asymmetric_triplet_loss(f, y.float(), d)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        asymmetric_triplet_loss(f, y, d[:2])
    with pytest.raises(ValueError, match=r"\(B, d\)"):
        asymmetric_triplet_loss(torch.zeros(3), y, d)
    with pytest.raises(TypeError, match="floating"):
        asymmetric_triplet_loss(torch.zeros(3, 2, dtype=torch.long), y, d)
    with pytest.raises(ValueError, match="margin"):
        asymmetric_triplet_loss(f, y, d, -0.1)
    with pytest.raises(ValueError, match="reduction"):
        asymmetric_triplet_loss(f, y, d, reduction="mean")  # type: ignore[arg-type]


def test_asymmetric_options_are_those_of_the_batch_all_loss() -> None:
    f, y, d = torch.rand(4, 3), torch.tensor([1, 1, 0, 0]), torch.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match="hardest"):
        asymmetric_triplet_loss(f, y, d, hardest=True)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="reduction"):
        asymmetric_triplet_loss(f, y, d, reduction="mean")  # type: ignore[arg-type]
