"""ROC-based metrics: ROC curve, AUC, EER, HTER and TPR at a fixed FPR.

Conventions (the whole library): ``scores`` are ``P(live)``, ``labels`` are 1 = live
(bona fide, the ROC's *positive* class) and 0 = spoof, and a sample is accepted as live
iff ``score >= threshold``. At a threshold ``t``:

* ``FAR(t)`` (false acceptance rate, = FPR = APCER pooled over attacks) is the fraction of
  spoof samples with ``score >= t``;
* ``FRR(t)`` (false rejection rate, = FNR = 1 - TPR = BPCER) is the fraction of live
  samples with ``score < t``.

All rates are fractions in ``[0, 1]``. Everything is computed in numpy; scores may be any
real numbers (probabilities, logits, cosines), not only values in ``[0, 1]``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics._checks import (
    ArrayLike1D,
    check_fraction,
    check_threshold,
    to_scores_labels,
)

__all__ = [
    "RocCurve",
    "auc",
    "eer",
    "far_frr",
    "hter",
    "roc_curve",
    "threshold_at_fpr",
    "tpr_at_fpr",
]


class RocCurve(NamedTuple):
    """A ROC curve with live as the positive class.

    Attributes:
        fpr: ``(K,)`` false positive rate (= FAR) at each threshold, non-decreasing.
        tpr: ``(K,)`` true positive rate (= 1 - FRR) at each threshold, non-decreasing.
        thresholds: ``(K,)`` decreasing thresholds; ``thresholds[0] = +inf`` (nothing
            accepted), then every distinct score from the highest to the lowest.
    """

    fpr: NDArray[np.float64]
    tpr: NDArray[np.float64]
    thresholds: NDArray[np.float64]


class _Counts(NamedTuple):
    """Integer ROC counts: accepted spoofs/lives at each threshold (leading +inf point)."""

    fps: NDArray[np.int64]
    tps: NDArray[np.int64]
    thresholds: NDArray[np.float64]

    @property
    def n_neg(self) -> int:
        return int(self.fps[-1])

    @property
    def n_pos(self) -> int:
        return int(self.tps[-1])


def _counts(s: NDArray[np.float64], y: NDArray[np.int64]) -> _Counts:
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # Last index of each run of equal scores: the operating point after accepting the run.
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last]
    fps = last + 1 - tps
    return _Counts(
        fps=np.r_[0, fps].astype(np.int64),
        tps=np.r_[0, tps].astype(np.int64),
        thresholds=np.r_[np.inf, s_sorted[last]].astype(np.float64),
    )


def _roc(c: _Counts) -> RocCurve:
    return RocCurve(fpr=c.fps / c.n_neg, tpr=c.tps / c.n_pos, thresholds=c.thresholds)


def roc_curve(scores: ArrayLike1D, labels: ArrayLike1D) -> RocCurve:
    """ROC curve of ``P(live)`` scores, live = positive class.

    One operating point per distinct threshold: ``fpr[k]`` is the fraction of spoof
    samples and ``tpr[k]`` the fraction of live samples with ``score >= thresholds[k]``.
    The first point is ``(0, 0)`` at ``+inf``. Tied scores form one point (a diagonal
    step), as in ``sklearn.metrics.roc_curve(..., drop_intermediate=False)``.

    Args:
        scores: ``P(live)`` (or any score that is larger for live faces).
        labels: 1 = live, 0 = spoof.

    Returns:
        The curve as a :class:`RocCurve` ``(fpr, tpr, thresholds)``.

    Shape:
        - scores, labels: ``(N,)``.
        - each output: ``(K,)`` with ``K`` = number of distinct scores + 1.

    Raises:
        ValueError: on empty input, mismatched lengths, NaN/inf scores, labels other
            than 0/1, or a single class.

    Example:
        >>> roc_curve([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]).tpr.tolist()
        [0.0, 0.5, 0.5, 1.0, 1.0]
    """
    s, y = to_scores_labels(scores, labels)
    return _roc(_counts(s, y))


def _auc(c: _Counts) -> float:
    # Trapezoids in integer counts, then one exact rational division.
    twice_area = int(np.sum(np.diff(c.fps) * (c.tps[1:] + c.tps[:-1])))
    return twice_area / (2 * c.n_neg * c.n_pos)


def auc(scores: ArrayLike1D, labels: ArrayLike1D) -> float:
    """Area under the ROC curve (live = positive), in ``[0, 1]``.

    Trapezoidal area under :func:`roc_curve`; equivalently the probability that a random
    live sample scores higher than a random spoof sample, ties counting one half
    (Mann-Whitney U / (N_live * N_spoof)). Invariant to strictly increasing transforms
    of the scores.

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.

    Returns:
        The AUC as a fraction.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input or a single class (see :func:`roc_curve`).

    Example:
        >>> auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
        1.0
    """
    s, y = to_scores_labels(scores, labels)
    return _auc(_counts(s, y))


def _eer(c: _Counts) -> tuple[float, float]:
    n_neg, n_pos = c.n_neg, c.n_pos
    fns = n_pos - c.tps  # rejected lives
    # (FAR - FRR) * n_neg * n_pos in exact integers; strictly increasing from
    # -n_neg*n_pos (at +inf) to +n_neg*n_pos (at the lowest score).
    diff = c.fps * n_pos - fns * n_neg
    k = int(np.argmax(diff >= 0))
    d_k, fp_k = int(diff[k]), int(c.fps[k])
    if d_k == 0:
        rate = fp_k / n_neg
    else:
        # Interpolate on the segment k-1 -> k at lam = -d[k-1] / (d[k] - d[k-1]).
        d_prev, fp_prev = int(diff[k - 1]), int(c.fps[k - 1])
        span = d_k - d_prev
        rate = (fp_prev * span - d_prev * (fp_k - fp_prev)) / (span * n_neg)
    # Threshold: the finite ROC vertex bracketing the crossing where |FAR - FRR| is
    # smallest; ties go to the lower HTER, then to the higher threshold.
    candidates = [i for i in (k - 1, k) if i >= 1 and (d_k != 0 or i == k)]
    best = min(
        candidates,
        key=lambda i: (
            abs(int(diff[i])),
            int(c.fps[i]) * n_pos + int(fns[i]) * n_neg,
            -float(c.thresholds[i]),
        ),
    )
    return rate, float(c.thresholds[best])


def eer(scores: ArrayLike1D, labels: ArrayLike1D) -> tuple[float, float]:
    """Equal error rate and its threshold.

    The EER is the rate at which the ROC crosses ``FAR = FRR`` (``fpr = 1 - tpr``),
    linearly interpolated between the two ROC vertices that bracket the crossing. The
    returned threshold is the one of those two vertices whose ``|FAR - FRR|`` is smallest
    (ties: lower HTER, then higher threshold); it is always one of the observed scores.
    The HTER at that threshold equals the EER up to the ROC's resolution: the difference
    is at most half the larger step (in FAR or FRR) of the bracketing ROC segment, i.e.
    ``max(1/N_spoof, 1/N_live)/2`` without ties.

    The EER value is invariant to strictly increasing transforms of the scores (the
    threshold is transformed with them). A scorer that ranks spoofs above live faces has
    an EER above 0.5.

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.

    Returns:
        ``(eer, threshold)``: the EER as a fraction in ``[0, 1]`` and the threshold.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input or a single class (see :func:`roc_curve`).

    Example:
        >>> eer([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
        (0.0, 0.8)
    """
    s, y = to_scores_labels(scores, labels)
    return _eer(_counts(s, y))


def far_frr(scores: ArrayLike1D, labels: ArrayLike1D, threshold: float) -> tuple[float, float]:
    """False acceptance and false rejection rates at a threshold.

    ``FAR`` = fraction of spoof samples accepted as live (``score >= threshold``);
    ``FRR`` = fraction of live samples rejected (``score < threshold``).

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        threshold: decision threshold (finite).

    Returns:
        ``(far, frr)`` as fractions.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input, a single class, or a non-finite threshold.
    """
    s, y = to_scores_labels(scores, labels)
    t = check_threshold(threshold)
    accepted = s >= t
    far = float(accepted[y == 0].mean())
    frr = float((~accepted[y == 1]).mean())
    return far, frr


def hter(scores: ArrayLike1D, labels: ArrayLike1D, threshold: float) -> float:
    """Half total error rate ``(FAR + FRR) / 2`` at a threshold.

    ``FAR`` is the fraction of spoof samples accepted as live (``score >= threshold``) and
    ``FRR`` the fraction of live samples rejected (``score < threshold``).

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        threshold: decision threshold (finite).

    Returns:
        The HTER as a fraction in ``[0, 1]``.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input, a single class, or a non-finite threshold.

    Example:
        >>> hter([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0], threshold=0.5)
        0.5
    """
    far, frr = far_frr(scores, labels, threshold)
    return (far + frr) / 2.0


def _best_index_at_fpr(roc: RocCurve, fpr: float) -> int:
    # Largest TPR among operating points with FPR <= fpr (small slack for rounding of
    # count / total); the curve is monotone so this is the last admissible vertex.
    admissible = np.flatnonzero(roc.fpr <= fpr + 1e-12)
    return int(admissible[-1])


def tpr_at_fpr(scores: ArrayLike1D, labels: ArrayLike1D, fpr: float) -> float:
    """True positive rate (live accepted) at a target false positive rate.

    The largest TPR of any threshold whose FPR (= FAR, fraction of spoof accepted) is at
    most ``fpr``; no interpolation, so the value is achievable by a real threshold. With
    ``N_spoof`` spoof samples the FPR resolution is ``1/N_spoof``: a target below it
    (e.g. 0.1% with fewer than 1000 spoofs) means "no spoof accepted".

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        fpr: target FPR as a fraction, e.g. ``0.01`` (1%) or ``0.001`` (0.1%).

    Returns:
        The TPR as a fraction in ``[0, 1]``.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input, a single class, or ``fpr`` outside ``[0, 1]``.

    Example:
        >>> tpr_at_fpr([0.9, 0.8, 0.7, 0.3, 0.1], [1, 0, 1, 0, 0], fpr=0.0)
        0.5
    """
    target = check_fraction(fpr, "fpr")
    roc = roc_curve(scores, labels)
    return float(roc.tpr[_best_index_at_fpr(roc, target)])


def threshold_at_fpr(scores: ArrayLike1D, labels: ArrayLike1D, fpr: float) -> float:
    """Threshold that realises :func:`tpr_at_fpr` (the lowest with FPR <= ``fpr``).

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        fpr: target FPR as a fraction.

    Returns:
        The threshold, always finite (so :func:`hter` accepts it). When only accepting
        nothing meets the target (even the highest spoof score would exceed it), it is the
        smallest float above the highest score.

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input, a single class, or ``fpr`` outside ``[0, 1]``.
    """
    target = check_fraction(fpr, "fpr")
    roc = roc_curve(scores, labels)
    threshold = float(roc.thresholds[_best_index_at_fpr(roc, target)])
    if not math.isfinite(threshold):
        threshold = float(np.nextafter(float(np.max(np.asarray(scores, dtype=float))), np.inf))
    return threshold
