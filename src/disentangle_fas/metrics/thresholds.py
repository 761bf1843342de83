"""Named threshold strategies: the field's oracle, a fixed threshold, and the honest one.

Published DG-FAS tables report HTER at the EER threshold of the *target test* scores.
That threshold is an **oracle**: it uses the test labels, which a deployed system never
sees. The library offers it (to compare with published numbers) under a name that says
so, next to two thresholds that do not look at the target test labels:

* ``ThresholdStrategy.ORACLE_TARGET_EER``: EER threshold of the target test scores.
* ``ThresholdStrategy.FIXED``: a constant chosen in advance (e.g. 0.5 on ``P(live)``).
* ``ThresholdStrategy.SOURCE_VAL_EER``: EER threshold of held-out *source* validation
  scores (the honest protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

from disentangle_fas.metrics._checks import ArrayLike1D, check_threshold
from disentangle_fas.metrics.choices import NamedChoice
from disentangle_fas.metrics.roc import eer

__all__ = [
    "Threshold",
    "ThresholdStrategy",
    "fixed_threshold",
    "oracle_threshold",
    "select_threshold",
    "source_val_threshold",
]


class ThresholdStrategy(NamedChoice):
    """How the decision threshold was chosen."""

    ORACLE_TARGET_EER = (
        "oracle_target_eer",
        "oracle: EER threshold of the target test scores; uses the test labels, "
        "as in published DG-FAS tables",
    )
    FIXED = "fixed", "fixed threshold chosen in advance"
    SOURCE_VAL_EER = (
        "source_val_eer",
        "honest: EER threshold of held-out source validation scores",
    )


@dataclass(frozen=True)
class Threshold:
    """A decision threshold on ``P(live)`` and the strategy that produced it.

    Attributes:
        strategy: how the threshold was chosen.
        value: the threshold; live iff ``score >= value``.
    """

    strategy: ThresholdStrategy
    value: float


def oracle_threshold(target_scores: ArrayLike1D, target_labels: ArrayLike1D) -> Threshold:
    """The literature's **oracle** threshold: the EER threshold of the target test scores.

    It uses the target test labels, so results obtained with it are optimistic; use it
    only to compare with published tables, and say so (reports do).

    Args:
        target_scores: target test ``P(live)``.
        target_labels: target test labels, 1 = live, 0 = spoof.

    Returns:
        The threshold, tagged ``ORACLE_TARGET_EER``.

    Shape:
        target_scores, target_labels: ``(N,)``.

    Raises:
        ValueError: on invalid input (see :func:`disentangle_fas.metrics.eer`).
    """
    return Threshold(ThresholdStrategy.ORACLE_TARGET_EER, eer(target_scores, target_labels)[1])


def source_val_threshold(source_scores: ArrayLike1D, source_labels: ArrayLike1D) -> Threshold:
    """The honest threshold: the EER threshold of held-out source validation scores.

    Args:
        source_scores: ``P(live)`` on validation data of the *source* domains.
        source_labels: their labels, 1 = live, 0 = spoof.

    Returns:
        The threshold, tagged ``SOURCE_VAL_EER``.

    Shape:
        source_scores, source_labels: ``(M,)``.

    Raises:
        ValueError: on invalid input (see :func:`disentangle_fas.metrics.eer`).
    """
    return Threshold(ThresholdStrategy.SOURCE_VAL_EER, eer(source_scores, source_labels)[1])


def fixed_threshold(value: float = 0.5) -> Threshold:
    """A threshold fixed in advance.

    Args:
        value: the threshold on ``P(live)`` (finite).

    Returns:
        The threshold, tagged ``FIXED``.

    Raises:
        ValueError: when ``value`` is NaN or infinite.
    """
    return Threshold(ThresholdStrategy.FIXED, check_threshold(value))


def select_threshold(
    strategy: ThresholdStrategy | str,
    *,
    target_scores: ArrayLike1D | None = None,
    target_labels: ArrayLike1D | None = None,
    source_scores: ArrayLike1D | None = None,
    source_labels: ArrayLike1D | None = None,
    fixed: float = 0.5,
) -> Threshold:
    """Choose a threshold by strategy.

    Args:
        strategy: a :class:`ThresholdStrategy` or its string value.
        target_scores: target test scores (needed by the oracle).
        target_labels: target test labels (needed by the oracle).
        source_scores: source validation scores (needed by ``SOURCE_VAL_EER``).
        source_labels: source validation labels (needed by ``SOURCE_VAL_EER``).
        fixed: the value used by ``FIXED``.

    Returns:
        The chosen :class:`Threshold`.

    Raises:
        ValueError: on an unknown strategy or when the data it needs is missing.
    """
    strat = ThresholdStrategy.coerce(strategy)
    if strat is ThresholdStrategy.FIXED:
        return fixed_threshold(fixed)
    if strat is ThresholdStrategy.ORACLE_TARGET_EER:
        if target_scores is None or target_labels is None:
            raise ValueError("the oracle threshold needs target_scores and target_labels")
        return oracle_threshold(target_scores, target_labels)
    if source_scores is None or source_labels is None:
        raise ValueError(
            "the source_val_eer threshold needs source_scores and source_labels (scores "
            "of held-out source-domain validation data)"
        )
    return source_val_threshold(source_scores, source_labels)
