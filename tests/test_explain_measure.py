"""Held-out probes: metrics against scikit-learn, the train/val split, the MLP probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score

from disentangle_fas.explain.heldout import (
    balanced_accuracy,
    fit_mlp_probe,
    macro_auc,
    score_heldout,
    stratified_bootstrap,
    usable_information,
)


def _coded(n: int, d: int, k: int, seed: int, noise: float = 0.7) -> tuple[torch.Tensor, ...]:
    """Labels linearly encoded (a random code per class) plus noise; returns x, y, codes."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    codes = torch.randn(k, d, generator=g)
    return codes[y] + noise * torch.randn(n, d, generator=g), y, codes


@pytest.mark.filterwarnings("ignore:.*(single label|not in y_true)")
@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=40))
def test_balanced_accuracy_equals_sklearn(pairs: list[tuple[int, int]]) -> None:
    pred = torch.tensor([p for p, _ in pairs])
    y = torch.tensor([t for _, t in pairs])
    expected = balanced_accuracy_score(y.numpy(), pred.numpy())
    assert balanced_accuracy(pred, y) == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_macro_auc_equals_sklearn_one_vs_rest(k: int) -> None:
    g = torch.Generator().manual_seed(k)
    y = torch.arange(60) % k
    proba = torch.softmax(torch.randn(60, k, generator=g) + 0.8 * torch.eye(k)[y], dim=1)
    if k == 2:
        expected = roc_auc_score(y.numpy(), proba[:, 1].numpy())
    else:
        expected = roc_auc_score(y.numpy(), proba.numpy(), multi_class="ovr", average="macro")
    got = macro_auc(proba, y)
    assert got is not None and got == pytest.approx(expected)
    assert macro_auc(proba, torch.zeros(60, dtype=torch.long)) is None


def test_stratified_bootstrap_keeps_class_counts() -> None:
    y = torch.tensor([0] * 7 + [1] * 3 + [2] * 5)
    idx = stratified_bootstrap(y, seed=4)
    assert torch.equal(torch.bincount(y[idx]), torch.bincount(y))
    assert torch.equal(idx, stratified_bootstrap(y, seed=4))
    assert not torch.equal(idx, stratified_bootstrap(y, seed=5))


def test_linear_heldout_score_equals_sklearn() -> None:
    x, y, codes = _coded(300, 8, 3, seed=0, noise=1.5)
    g = torch.Generator().manual_seed(9)
    yv = torch.randint(0, 3, (200,), generator=g)
    xv = codes[yv] + 1.5 * torch.randn(200, 8, generator=g)
    got = score_heldout(x, y, xv, yv, kind="linear", seed=None, l2=0.01)
    xn, mean, std = (
        x.double().numpy(),
        x.double().mean(0).numpy(),
        x.double().std(0, unbiased=False).numpy(),
    )
    ref = LogisticRegression(C=1 / (0.01 * 300), tol=1e-10, max_iter=5000)
    ref.fit((xn - mean) / std, y.numpy())
    proba = ref.predict_proba((xv.double().numpy() - mean) / std)
    assert got.balanced_accuracy == pytest.approx(
        balanced_accuracy_score(yv.numpy(), proba.argmax(1)), abs=0.011
    )
    expected_auc = roc_auc_score(yv.numpy(), proba, multi_class="ovr", average="macro")
    assert got.auc == pytest.approx(expected_auc, abs=1e-3)
    assert (got.num_classes, got.n_train, got.n_val) == (3, 300, 200)
    prior = np.bincount(y.numpy(), minlength=3) / 300
    expected_info = 1 - log_loss(yv.numpy(), proba) / log_loss(yv.numpy(), np.tile(prior, (200, 1)))
    assert got.information == pytest.approx(expected_info, abs=2e-3)
    assert 0.1 < got.information < 1


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 4),
    st.integers(2, 30),
    st.integers(0, 10_000),
)
def test_usable_information_equals_one_minus_a_ratio_of_sklearn_log_losses(
    k: int, n: int, seed: int
) -> None:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    proba = torch.softmax(3 * torch.randn(n, k, generator=g, dtype=torch.float64), dim=1)
    prior = torch.softmax(torch.randn(k, generator=g, dtype=torch.float64), dim=0)
    labels = list(range(k))
    ce = log_loss(y.numpy(), proba.numpy(), labels=labels)
    ce_prior = log_loss(y.numpy(), prior.expand(n, k).numpy(), labels=labels)
    got = usable_information(proba, y, prior)
    assert got == pytest.approx(1 - ce / ce_prior, rel=1e-9, abs=1e-9)
    assert got <= 1
    assert usable_information(prior.expand(n, k), y, prior) == pytest.approx(0.0, abs=1e-12)


def test_a_probe_that_overfits_noise_has_negative_usable_information() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(60, 100, generator=g), torch.arange(60) % 3
    xv, yv = torch.randn(300, 100, generator=g), torch.arange(300) % 3
    got = score_heldout(x, y, xv, yv, kind="linear", seed=None, l2=1e-3)
    assert got.information < 0  # confident and wrong: worse than the class frequencies
    assert abs(got.balanced_accuracy - 1 / 3) < 0.1


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_the_probe_is_scored_on_the_held_out_part_only(kind: str) -> None:
    # Train: each class has its own code. Held-out: the codes of the two classes swapped.
    # A score computed on the training part would be near 100 %; on the held-out part the
    # probe is wrong on nearly every sample.
    x, y, codes = _coded(200, 6, 2, seed=1, noise=0.3)
    g = torch.Generator().manual_seed(2)
    yv = torch.randint(0, 2, (100,), generator=g)
    xv = codes[1 - yv] + 0.3 * torch.randn(100, 6, generator=g)
    got = score_heldout(x, y, xv, yv, kind=kind, seed=0)  # type: ignore[arg-type]
    assert got.balanced_accuracy < 0.05 and got.auc is not None and got.auc < 0.05
    # Memorisable noise: more dimensions than samples, labels unrelated to anything.
    noise = torch.randn(60, 200, generator=g)
    labels = torch.randint(0, 2, (60,), generator=g)
    val_noise, val_labels = (
        torch.randn(400, 200, generator=g),
        torch.randint(0, 2, (400,), generator=g),
    )
    memorised = score_heldout(noise, labels, val_noise, val_labels, kind=kind, seed=None)  # type: ignore[arg-type]
    assert abs(memorised.balanced_accuracy - 0.5) < 0.1


def test_held_out_classes_unknown_to_training_are_left_out() -> None:
    x, y, codes = _coded(100, 4, 2, seed=3)
    xv = torch.cat([codes[torch.tensor([0, 1, 0, 1])], torch.zeros(3, 4)])
    yv = torch.tensor([0, 1, 0, 1, 7, 7, 7])
    got = score_heldout(x, y, xv, yv, seed=0)
    assert got.n_val == 4 and got.balanced_accuracy == 1.0
    with pytest.raises(ValueError, match="two classes"):
        score_heldout(x, torch.zeros(100), xv, yv)
    with pytest.raises(ValueError, match="kind"):
        score_heldout(x, y, xv, yv, kind="forest")  # type: ignore[arg-type]


def test_the_mlp_probe_reads_what_a_linear_probe_cannot() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(600, 2, generator=g) * 2 - 1
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()  # XOR: no linear boundary
    xv = torch.rand(300, 2, generator=g) * 2 - 1
    yv = ((xv[:, 0] > 0) ^ (xv[:, 1] > 0)).long()
    linear = score_heldout(x, y, xv, yv, kind="linear", seed=0)
    mlp = score_heldout(x, y, xv, yv, kind="mlp", seed=0)
    assert abs(linear.balanced_accuracy - 0.5) < 0.12
    assert mlp.balanced_accuracy > 0.9


def test_mlp_probe_is_deterministic_given_its_seed() -> None:
    x, y, _ = _coded(80, 5, 3, seed=4, noise=2.0)
    a = fit_mlp_probe(x, y, num_classes=3, seed=1)
    b = fit_mlp_probe(x, y, num_classes=3, seed=1)
    c = fit_mlp_probe(x, y, num_classes=3, seed=2)
    assert torch.equal(a.predict_proba(x), b.predict_proba(x))
    assert not torch.equal(a.w1, c.w1)
    probs = a.predict_proba(x)
    assert probs.shape == (80, 3) and torch.allclose(
        probs.sum(1), torch.ones(80, dtype=torch.float64)
    )
    # The hidden layer is what the logits use: relu(x W1 + b1) W2 + b2 on standardised x.
    xs = (x.double() - a.mean) / a.std
    hand = np.maximum(xs.numpy() @ a.w1.numpy() + a.b1.numpy(), 0) @ a.w2.numpy() + a.b2.numpy()
    assert np.allclose(a.logits(x).numpy(), hand)
    with pytest.raises(ValueError):
        fit_mlp_probe(x, y, num_classes=2)
