"""ISO/IEC 30107-3 presentation attack detection metrics: APCER, BPCER, ACER.

A sample is classified as bona fide (live) iff ``score >= threshold`` (scores are
``P(live)``). Attack types follow :class:`disentangle_fas.types.FASSample`: 0 for live
samples, a positive id per presentation attack instrument species (print, replay, ...)
for spoof samples.

* ``APCER_a`` (attack presentation classification error rate of species ``a``): fraction
  of attack presentations of species ``a`` classified as bona fide.
* ``APCER``: the worst case ``max_a APCER_a``, as reported in the OULU-NPU protocols.
* ``BPCER``: fraction of bona fide presentations classified as attacks (= FRR).
* ``ACER = (APCER + BPCER) / 2`` with the worst-case APCER.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics._checks import (
    ArrayLike1D,
    check_threshold,
    to_attacks,
    to_scores_labels,
)

__all__ = ["acer", "apcer", "apcer_per_attack", "bpcer"]


def _attacks_or_single(attacks: ArrayLike1D | None, y: NDArray[np.int64]) -> NDArray[np.int64]:
    if attacks is None:
        return np.where(y == 0, 1, 0).astype(np.int64)
    return to_attacks(attacks, y)


def apcer_per_attack(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    attacks: ArrayLike1D | None,
    threshold: float,
) -> dict[int, float]:
    """APCER of each attack type (ISO/IEC 30107-3).

    ``APCER_a`` = fraction of spoof samples of attack type ``a`` with ``score >=
    threshold`` (accepted as live). Live samples are ignored.

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        attacks: attack-type id per sample (0 for live, positive for spoof); ``None``
            treats all spoof samples as one type with id 1.
        threshold: decision threshold (finite).

    Returns:
        ``{attack_id: APCER}`` in increasing id order, fractions in ``[0, 1]``.

    Shape:
        scores, labels, attacks: ``(N,)``.

    Raises:
        ValueError: on invalid input, no spoof sample, live samples with a non-zero
            attack id, spoof samples with attack id <= 0, or a non-finite threshold.

    Example:
        >>> apcer_per_attack([0.7, 0.2, 0.6, 0.9], [0, 0, 0, 1], [1, 1, 2, 0], 0.5)
        {1: 0.5, 2: 1.0}
    """
    s, y = to_scores_labels(scores, labels, need_both=False)
    if not (y == 0).any():
        raise ValueError("APCER needs at least one spoof sample (label 0)")
    a = _attacks_or_single(attacks, y)
    t = check_threshold(threshold)
    spoof = y == 0
    accepted = s >= t
    result: dict[int, float] = {}
    for attack_id in np.unique(a[spoof]).tolist():
        mask = spoof & (a == attack_id)
        result[int(attack_id)] = float(accepted[mask].mean())
    return result


def apcer(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    attacks: ArrayLike1D | None,
    threshold: float,
) -> float:
    """Worst-case APCER: ``max`` over attack types of :func:`apcer_per_attack`.

    With ``attacks=None`` this is the fraction of all spoof samples accepted (= FAR).

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        attacks: attack-type id per sample, or ``None``.
        threshold: decision threshold (finite).

    Returns:
        The worst-case APCER as a fraction.

    Shape:
        scores, labels, attacks: ``(N,)``.

    Raises:
        ValueError: as :func:`apcer_per_attack`.
    """
    return max(apcer_per_attack(scores, labels, attacks, threshold).values())


def bpcer(scores: ArrayLike1D, labels: ArrayLike1D, threshold: float) -> float:
    """BPCER: fraction of live (bona fide) samples with ``score < threshold``.

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        threshold: decision threshold (finite).

    Returns:
        The BPCER as a fraction (equal to FRR).

    Shape:
        scores, labels: ``(N,)``.

    Raises:
        ValueError: on invalid input, no live sample, or a non-finite threshold.

    Example:
        >>> bpcer([0.7, 0.2, 0.6, 0.4], [1, 1, 1, 0], 0.5)
        0.3333333333333333
    """
    s, y = to_scores_labels(scores, labels, need_both=False)
    if not (y == 1).any():
        raise ValueError("BPCER needs at least one live sample (label 1)")
    t = check_threshold(threshold)
    return float((s[y == 1] < t).mean())


def acer(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    attacks: ArrayLike1D | None,
    threshold: float,
) -> float:
    """ACER = (worst-case APCER + BPCER) / 2 (ISO/IEC 30107-3, OULU-NPU protocols).

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        attacks: attack-type id per sample, or ``None`` (all spoofs one type).
        threshold: decision threshold (finite).

    Returns:
        The ACER as a fraction.

    Shape:
        scores, labels, attacks: ``(N,)``.

    Raises:
        ValueError: on invalid input or when either class is missing.
    """
    s, y = to_scores_labels(scores, labels)
    return (apcer(s, y, attacks, threshold) + bpcer(s, y, threshold)) / 2.0
