"""HSIC against a numpy implementation of Gretton et al.'s biased estimator, its
properties, and its gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangle_fas.losses import HSIC, hsic
from disentangle_fas.losses.hsic import median_bandwidth


def _numpy_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """tr(K H L H) / (n - 1)^2 with Gaussian kernels, median-distance bandwidths, written
    with explicit loops and matrices."""
    n = x.shape[0]

    def gram(a: np.ndarray) -> np.ndarray:
        d = np.array([[np.linalg.norm(a[i] - a[j]) for j in range(n)] for i in range(n)])
        off = d[~np.eye(n, dtype=bool)]
        off = off[off > 0]
        sigma = np.median(off) if off.size else 1.0
        return np.exp(-(d**2) / (2 * sigma**2))

    h = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(gram(x) @ h @ gram(y) @ h) / (n - 1) ** 2)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 24), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_hsic_equals_numpy(n: int, d: int, e: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, e))
    got = float(hsic(torch.tensor(x), torch.tensor(y)))
    assert got == pytest.approx(_numpy_hsic(x, y), rel=1e-9, abs=1e-12)


def test_hsic_with_one_hot_domain_labels_equals_numpy() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 6))
    labels = rng.integers(0, 3, 30)
    onehot = np.eye(3)[labels]
    got = float(hsic(torch.tensor(x), torch.tensor(onehot)))
    assert got == pytest.approx(_numpy_hsic(x, onehot), rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(3, 20), st.integers(0, 2**31 - 1))
def test_hsic_is_symmetric_non_negative_and_permutation_invariant(n: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, 3, generator=g, dtype=torch.float64), torch.randn(n, 2, generator=g,
                                                                          dtype=torch.float64)  # fmt: skip
    value = hsic(x, y)
    assert float(value) >= -1e-12
    assert float(hsic(y, x)) == pytest.approx(float(value), rel=1e-9, abs=1e-15)
    perm = torch.randperm(n, generator=g)
    assert float(hsic(x[perm], y[perm])) == pytest.approx(float(value), rel=1e-9, abs=1e-15)


def test_dependence_scores_higher_than_independence() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    dependent = x[:, :1] ** 2 + 0.1 * torch.randn(200, 1, generator=g)  # non-linear, uncorrelated
    independent = torch.randn(200, 1, generator=g)
    assert float(hsic(x, dependent)) > 5 * float(hsic(x, independent))


def test_gradient_flows_to_both_inputs_and_the_module_matches() -> None:
    x = torch.randn(16, 4, dtype=torch.float64, requires_grad=True)
    y = torch.randn(16, 3, dtype=torch.float64, requires_grad=True)
    hsic(x, y).backward()
    assert x.grad is not None and y.grad is not None and float(x.grad.abs().sum()) > 0
    sx, sy = float(median_bandwidth(x.detach())), float(median_bandwidth(y.detach()))
    assert torch.autograd.gradcheck(lambda a, b: hsic(a, b, sigma_x=sx, sigma_y=sy), (x, y))
    assert float(HSIC()(x, y).detach()) == float(hsic(x, y).detach())


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same number n >= 2 of rows"):
        hsic(torch.randn(4, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match="must be a float tensor"):
        hsic(torch.ones(4, 2, dtype=torch.long), torch.randn(4, 2))
