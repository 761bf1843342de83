"""Uncertainty of reported metrics: mean ± std over seeds, t-intervals, paired differences,
paired tests, Holm's correction and a stratified bootstrap over target videos.

Everything is plain numpy and :mod:`math` (no SciPy); Student's t distribution is
:mod:`~disentangle_fas.metrics.t_distribution`'s.

An :class:`Interval` is *significant* at its confidence when it excludes 0; that is one
comparison on its own. When several comparisons are made (tasks, pairs of methods), test
them with :func:`paired_t_test` or :func:`bootstrap_test` and adjust the p-values over the
family with :func:`holm_adjust`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics.t_distribution import t_cdf, t_quantile

__all__ = [
    "Interval",
    "MeanStd",
    "bootstrap_interval",
    "bootstrap_test",
    "holm_adjust",
    "mean_std",
    "paired_difference",
    "paired_t_test",
    "t_cdf",
    "t_interval",
    "t_quantile",
]


@dataclass(frozen=True)
class MeanStd:
    """Mean and sample standard deviation (``ddof=1``) of ``n`` values.

    Attributes:
        mean: the mean.
        std: the sample standard deviation; ``nan`` when ``n == 1``.
        n: how many values.
    """

    mean: float
    std: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (``std`` is ``None`` when undefined)."""
        return {"mean": self.mean, "std": None if math.isnan(self.std) else self.std, "n": self.n}


#: Intervals narrower than this (relative to ``max(1, |estimate|)``) have zero width.
_ZERO_WIDTH = 1e-9


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    Attributes:
        estimate: the point estimate.
        low: lower end.
        high: upper end.
        confidence: e.g. ``0.95``.
        method: ``"t"`` (t-interval over seeds) or ``"bootstrap"``; ``"none"`` when no
            interval could be formed (one value): then ``low`` and ``high`` are ``nan``.
    """

    estimate: float
    low: float
    high: float
    confidence: float
    method: str

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0 and has a positive width.

        ``False`` when there is no interval, and for a zero-width one: values that do not
        vary at all (e.g. the same HTER difference on every seed, which discrete error rates
        on a small test set can give) measure no spread, so they are no evidence that the
        difference exceeds it.
        """
        excludes_zero = self.low > 0.0 or self.high < 0.0
        # Rounding noise of equal values (0.125 - 0.15 vs 0.25 - 0.275) is no width.
        width = self.high - self.low
        return bool(excludes_zero and width > _ZERO_WIDTH * max(1.0, abs(self.estimate)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (undefined ends as ``None``)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        return {
            "estimate": self.estimate,
            "low": num(self.low),
            "high": num(self.high),
            "confidence": self.confidence,
            "method": self.method,
            "significant": self.significant,
        }


def _values(values: Sequence[float] | NDArray[Any]) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"need a non-empty 1-D sequence of values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values must be finite")
    return arr


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def mean_std(values: Sequence[float] | NDArray[Any]) -> MeanStd:
    """Mean and sample standard deviation (``ddof=1``).

    Args:
        values: e.g. one HTER per seed.

    Returns:
        The :class:`MeanStd`; ``std`` is ``nan`` for a single value.

    Shape:
        values: ``(n,)``.

    Raises:
        ValueError: empty, not 1-D, or non-finite values.
    """
    arr = _values(values)
    std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return MeanStd(float(arr.mean()), std, int(arr.size))


def t_interval(values: Sequence[float] | NDArray[Any], confidence: float = 0.95) -> Interval:
    """Two-sided t-interval of the mean: ``mean ± t_{(1+c)/2, n-1} · s / √n``.

    Args:
        values: independent values, e.g. one per seed.
        confidence: the interval's coverage.

    Returns:
        The :class:`Interval` (method ``"t"``; ``"none"`` with ``nan`` ends for one value).

    Shape:
        values: ``(n,)``.

    Raises:
        ValueError: empty or non-finite values, or ``confidence`` outside ``(0, 1)``.
    """
    _check_confidence(confidence)
    stats = mean_std(values)
    if stats.n < 2:
        return Interval(stats.mean, math.nan, math.nan, confidence, "none")
    half = t_quantile(0.5 + confidence / 2.0, stats.n - 1) * stats.std / math.sqrt(stats.n)
    return Interval(stats.mean, stats.mean - half, stats.mean + half, confidence, "t")


def paired_difference(
    a: Sequence[float] | NDArray[Any],
    b: Sequence[float] | NDArray[Any],
    confidence: float = 0.95,
) -> Interval:
    """t-interval of the mean of the paired differences ``a[i] - b[i]``.

    Pairs share what the runs share (the seed: initialisation and batch order).

    Args:
        a: values of the first method, one per seed.
        b: values of the second, same seeds in the same order.
        confidence: the interval's coverage.

    Returns:
        The :class:`Interval` of ``mean(a - b)``.

    Shape:
        a, b: ``(n,)``.

    Raises:
        ValueError: different lengths, or the errors of :func:`t_interval`.
    """
    x, y = _values(a), _values(b)
    if x.shape != y.shape:
        raise ValueError(f"paired values need equal lengths, got {x.size} and {y.size}")
    return t_interval(x - y, confidence)


def paired_t_test(
    a: Sequence[float] | NDArray[Any],
    b: Sequence[float] | NDArray[Any],
) -> float:
    """Two-sided p-value of the paired t-test of ``mean(a - b) = 0``.

    ``t = mean(d) / (s_d / √n)`` with ``n - 1`` degrees of freedom, ``d = a - b``; the same
    test as :func:`paired_difference`'s interval (``p < 1 - c`` exactly when the
    ``c``-interval excludes 0).

    Args:
        a: values of the first method, one per seed.
        b: values of the second, same seeds in the same order.

    Returns:
        The p-value; ``1.0`` when every difference is 0, ``nan`` (undefined) for a single
        pair or for differences that are equal but not 0 (no spread measured: like a
        zero-width :class:`Interval`, no evidence either way).

    Shape:
        a, b: ``(n,)``.

    Raises:
        ValueError: different lengths, empty or non-finite values.

    Example:
        >>> round(paired_t_test([0.9, 0.8, 0.85], [0.7, 0.75, 0.6]), 4)
        0.1091
    """
    x, y = _values(a), _values(b)
    if x.shape != y.shape:
        raise ValueError(f"paired values need equal lengths, got {x.size} and {y.size}")
    stats = mean_std(x - y)
    if stats.n < 2:
        return math.nan
    if stats.std <= _ZERO_WIDTH * max(1.0, abs(stats.mean)):
        return 1.0 if abs(stats.mean) <= _ZERO_WIDTH else math.nan
    t = stats.mean / (stats.std / math.sqrt(stats.n))
    return min(1.0, 2.0 * t_cdf(-abs(t), stats.n - 1))


def holm_adjust(pvalues: Sequence[float] | NDArray[Any]) -> list[float]:
    """Holm's step-down adjusted p-values of a family of ``m`` tests.

    With the p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of the
    ``i``-th smallest is ``max_{j <= i} min(1, (m - j + 1) p_(j))``. Rejecting every
    hypothesis whose adjusted p-value is at most ``alpha`` is Holm's procedure, which keeps
    the family-wise error rate at ``alpha`` under any dependence between the tests. The
    smallest p-value is multiplied by ``m`` (Bonferroni); the adjusted values keep the
    order of the raw ones, are never below them and never above 1.

    Args:
        pvalues: the raw p-values of the family, each in ``[0, 1]``.

    Returns:
        The adjusted p-values, in the input's order (tied raw values get equal ones).

    Shape:
        pvalues: ``(m,)``; ``m = 0`` gives ``[]``.

    Raises:
        ValueError: a value that is not a number in ``[0, 1]`` (e.g. ``nan``: decide what
            an undefined test counts as before adjusting).

    Example:
        >>> [round(p, 3) for p in holm_adjust([0.031, 0.5, 0.026, 0.6])]
        [0.104, 1.0, 0.104, 1.0]
    """
    ps = [float(p) for p in np.asarray(pvalues, dtype=np.float64).reshape(-1)]
    bad = [p for p in ps if not 0.0 <= p <= 1.0]
    if bad:
        raise ValueError(f"p-values must be numbers in [0, 1], got {bad}")
    m = len(ps)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda k: ps[k])):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def _replicates(
    statistic: Callable[[NDArray[np.int64]], float],
    labels: Sequence[int] | NDArray[Any],
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[NDArray[np.float64], int]:
    """The statistic on every stratified resample, and the number of items."""
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    y = np.asarray(labels).astype(np.int64)
    live, spoof = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if live.size == 0 or spoof.size == 0 or live.size + spoof.size != y.size:
        raise ValueError("bootstrap needs labels in {0, 1} with both classes present")
    rng = np.random.default_rng(seed)
    stats = np.empty(resamples, dtype=np.float64)
    for i in range(resamples):
        idx = np.concatenate([rng.choice(live, size=live.size), rng.choice(spoof, size=spoof.size)])
        stats[i] = statistic(idx)
    return stats, int(y.size)


def _percentile_interval(
    statistic: Callable[[NDArray[np.int64]], float],
    stats: NDArray[np.float64],
    n: int,
    confidence: float,
) -> Interval:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    estimate = float(statistic(np.arange(n, dtype=np.int64)))
    return Interval(estimate, float(low), float(high), confidence, "bootstrap")


def bootstrap_interval(
    statistic: Callable[[NDArray[np.int64]], float],
    labels: Sequence[int] | NDArray[Any],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of a statistic of a labelled test set, stratified by class.

    Each resample draws, with replacement, as many live and as many spoof items as the set
    has (so every resample holds both classes) and calls ``statistic`` with the drawn
    indices. Pass a statistic of two models' scores on the same items to bootstrap a paired
    difference.

    Args:
        statistic: indices ``(n,)`` into the test set -> a number (e.g. HTER at a fixed
            threshold); ``statistic(arange(n))`` is the point estimate.
        labels: 1 live, 0 spoof per item (e.g. per target video).
        resamples: number of bootstrap resamples.
        confidence: the interval's coverage.
        seed: seed of the resampling generator (the interval is reproducible).

    Returns:
        The :class:`Interval` (method ``"bootstrap"``).

    Shape:
        labels: ``(n,)``.

    Raises:
        ValueError: fewer than 1 resample, a single class, or a bad ``confidence``.
    """
    stats, n = _replicates(statistic, labels, resamples, confidence, seed)
    return _percentile_interval(statistic, stats, n, confidence)


def bootstrap_test(
    statistic: Callable[[NDArray[np.int64]], float],
    labels: Sequence[int] | NDArray[Any],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[Interval, float]:
    """:func:`bootstrap_interval` and the two-sided bootstrap p-value of ``statistic = 0``.

    With ``B`` resamples and ``T*`` the resampled statistics, the p-value is
    ``min(1, 2 · min(1 + #{T* <= 0}, 1 + #{T* >= 0}) / (B + 1))``: twice the smaller tail
    beyond 0, so it is below ``1 - c`` about when the percentile ``c``-interval excludes 0,
    and never 0 (the ``+1`` counts the observed set as one resample).

    Args:
        statistic: indices ``(n,)`` into the test set -> a number, e.g. the AUC
            difference of two models on the same items.
        labels: 1 live, 0 spoof per item.
        resamples: number of bootstrap resamples.
        confidence: the interval's coverage.
        seed: seed of the resampling generator (the same interval as
            :func:`bootstrap_interval` with the same arguments).

    Returns:
        The :class:`Interval` and the p-value.

    Shape:
        labels: ``(n,)``.

    Raises:
        ValueError: fewer than 1 resample, a single class, or a bad ``confidence``.
    """
    stats, n = _replicates(statistic, labels, resamples, confidence, seed)
    below, above = int(np.sum(stats <= 0.0)), int(np.sum(stats >= 0.0))
    p = min(1.0, 2.0 * (1 + min(below, above)) / (resamples + 1))
    return _percentile_interval(statistic, stats, n, confidence), p
