"""Uncertainty statistics against hand computations, published t tables and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangle_fas import metrics

# Two-sided 95 % critical values t_{0.975, df} from standard printed tables.
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 9: 2.262, 10: 2.228, 30: 2.042}


@pytest.mark.parametrize(("df", "expected"), sorted(T975.items()))
def test_t_quantile_matches_printed_table(df: int, expected: float) -> None:
    assert metrics.t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_closed_forms() -> None:
    # df = 1 is the Cauchy distribution: quantile tan(pi (p - 1/2)).
    for p in (0.6, 0.9, 0.975, 0.999):
        assert metrics.t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-8)
    # df = 2: quantile (2p - 1) / sqrt(2 p (1 - p)).
    for p in (0.55, 0.8, 0.975):
        expected = (2 * p - 1) / math.sqrt(2 * p * (1 - p))
        assert metrics.t_quantile(p, 2) == pytest.approx(expected, rel=1e-8)
    # Large df tends to the normal quantile 1.959964.
    assert metrics.t_quantile(0.975, 1e6) == pytest.approx(1.959964, abs=1e-4)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 0.99), st.integers(1, 60))
def test_t_quantile_inverts_cdf_and_is_symmetric(p: float, df: int) -> None:
    q = metrics.t_quantile(p, df)
    assert metrics.t_cdf(q, df) == pytest.approx(p, abs=1e-9)
    assert metrics.t_quantile(1 - p, df) == pytest.approx(-q, abs=1e-8)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50))
def test_t_quantile_decreases_with_df(df: int) -> None:
    assert metrics.t_quantile(0.975, df + 1) < metrics.t_quantile(0.975, df)


def test_mean_std_matches_numpy() -> None:
    vals = [20.0, 8.0, 18.0]
    m = metrics.mean_std(vals)
    assert m.mean == pytest.approx(np.mean(vals))
    assert m.std == pytest.approx(np.std(vals, ddof=1))
    assert m.n == 3
    single = metrics.mean_std([4.0])
    assert math.isnan(single.std) and single.to_dict()["std"] is None


def test_t_interval_by_hand() -> None:
    vals = np.array([17.0, 10.0, 28.0])  # full - baseline per seed, e.g.
    mean, s = vals.mean(), vals.std(ddof=1)
    half = 4.302652729911275 * s / math.sqrt(3)
    iv = metrics.t_interval(vals)
    assert iv.low == pytest.approx(mean - half, rel=1e-9)
    assert iv.high == pytest.approx(mean + half, rel=1e-9)
    # With 3 seeds t_{0.975,2} = 4.30: a mean gain of 18 points is still not significant.
    assert iv.low < 0 < iv.high and not iv.significant and iv.method == "t"


def test_paired_difference_uses_pairs() -> None:
    a = [0.20, 0.08, 0.18]
    b = [0.30, 0.17, 0.29]
    iv = metrics.paired_difference(a, b)
    diffs = np.subtract(a, b)
    assert iv.estimate == pytest.approx(diffs.mean())
    assert iv.high < 0 and iv.significant
    # A shift common to both methods cancels in the pairs, not in unpaired data.
    a2, b2 = [1.0, 5.0, 9.0], [0.9, 4.85, 8.9]
    assert metrics.paired_difference(a2, b2).significant
    assert not metrics.t_interval(a2).low > max(b2)  # the unpaired spread swamps the 0.1 gain
    with pytest.raises(ValueError, match="equal lengths"):
        metrics.paired_difference([1.0, 2.0], [1.0])


def test_interval_containing_zero_is_not_significant() -> None:
    iv = metrics.paired_difference([0.1, -0.2, 0.05], [0.0, 0.0, 0.0])
    assert iv.low < 0 < iv.high and not iv.significant
    one = metrics.t_interval([3.0])
    assert one.method == "none" and not one.significant and one.to_dict()["low"] is None


def test_a_zero_width_interval_is_not_significant() -> None:
    # The same HTER difference on every seed: the formula's interval is one point.
    iv = metrics.paired_difference([0.125, 0.25, 0.5], [0.15, 0.275, 0.525])
    assert iv.low == pytest.approx(iv.high) and iv.high < 0
    assert iv.method == "t" and not iv.significant and not iv.to_dict()["significant"]
    varied = metrics.paired_difference([0.125, 0.25, 0.5], [0.15, 0.28, 0.52])
    assert varied.high < 0 and varied.significant


def test_bootstrap_is_seeded_stratified_and_covers_the_estimate() -> None:
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(30, dtype=np.int64), np.zeros(70, dtype=np.int64)]
    values = rng.normal(size=100) + labels
    seen_classes = []

    def stat(idx: np.ndarray) -> float:
        seen_classes.append((int(labels[idx].sum()), idx.size))
        return float(values[idx].mean())

    iv = metrics.bootstrap_interval(stat, labels, resamples=300, seed=3)
    assert iv.method == "bootstrap" and iv.low <= iv.estimate <= iv.high
    assert iv.estimate == pytest.approx(values.mean())
    # Every resample keeps the class counts (stratified).
    assert all(c == (30, 100) for c in seen_classes)
    again = metrics.bootstrap_interval(
        lambda i: float(values[i].mean()), labels, resamples=300, seed=3
    )
    assert (again.low, again.high) == (iv.low, iv.high)


def test_bootstrap_width_matches_standard_error() -> None:
    rng = np.random.default_rng(1)
    labels = np.r_[np.ones(200, dtype=np.int64), np.zeros(200, dtype=np.int64)]
    values = rng.normal(size=400)
    iv = metrics.bootstrap_interval(
        lambda i: float(values[i].mean()), labels, resamples=2000, seed=0
    )
    se = values.std(ddof=1) / math.sqrt(400)
    assert (iv.high - iv.low) == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_bootstrap_refuses_a_single_class() -> None:
    with pytest.raises(ValueError, match="both classes"):
        metrics.bootstrap_interval(lambda i: 0.0, [1, 1, 1])
    with pytest.raises(ValueError, match="resamples"):
        metrics.bootstrap_interval(lambda i: 0.0, [0, 1], resamples=0)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        metrics.mean_std([])
    with pytest.raises(ValueError):
        metrics.t_interval([1.0, float("nan")])
    with pytest.raises(ValueError):
        metrics.t_interval([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError):
        metrics.t_quantile(1.0, 3)
    with pytest.raises(ValueError):
        metrics.t_cdf(0.0, 0)
