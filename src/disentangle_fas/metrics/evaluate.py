"""One call that computes every metric of a target test set under several thresholds.

:func:`evaluate_scores` is what a training loop calls after scoring the target test set
(and, for the honest protocol, held-out source validation data). It returns a typed
:class:`EvaluationResult` with the threshold-free metrics (AUC, EER, TPR@FPR) and one
:class:`OperatingPoint` per threshold strategy: the oracle (target EER threshold), the
honest source-validation threshold (when source scores are given) and a fixed one.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics._checks import ArrayLike1D, to_attacks, to_scores_labels
from disentangle_fas.metrics.iso import apcer_per_attack
from disentangle_fas.metrics.roc import RocCurve, _auc, _best_index_at_fpr, _counts, _eer, _roc
from disentangle_fas.metrics.thresholds import (
    Threshold,
    ThresholdStrategy,
    fixed_threshold,
)
from disentangle_fas.metrics.video import video_level

__all__ = [
    "EvaluationResult",
    "OperatingPoint",
    "SourceValidation",
    "evaluate_scores",
    "operating_point",
]

if TYPE_CHECKING:
    from torch import Tensor

VideoIds: TypeAlias = "Sequence[Hashable] | NDArray[Any] | Tensor"


@dataclass(frozen=True)
class OperatingPoint:
    """Every threshold-dependent metric at one threshold.

    Attributes:
        strategy: how the threshold was chosen.
        threshold: the threshold; live iff ``score >= threshold``.
        hter: ``(far + frr) / 2``.
        far: fraction of spoof samples accepted as live.
        frr: fraction of live samples rejected.
        apcer: worst-case APCER over attack types.
        bpcer: fraction of live samples rejected (= ``frr``).
        acer: ``(apcer + bpcer) / 2``.
        apcer_per_attack: APCER of each attack id.
    """

    strategy: ThresholdStrategy
    threshold: float
    hter: float
    far: float
    frr: float
    apcer: float
    bpcer: float
    acer: float
    apcer_per_attack: dict[int, float]


def operating_point(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    threshold: Threshold,
    attacks: ArrayLike1D | None = None,
) -> OperatingPoint:
    """Compute HTER, FAR, FRR, APCER (per attack and worst), BPCER and ACER at a threshold.

    Args:
        scores: ``P(live)``.
        labels: 1 = live, 0 = spoof.
        threshold: the threshold and its strategy.
        attacks: attack id per sample (0 live, positive spoof); ``None`` = one type.

    Returns:
        The :class:`OperatingPoint`.

    Shape:
        scores, labels, attacks: ``(N,)``.

    Raises:
        ValueError: on invalid input or a single class.
    """
    s, y = to_scores_labels(scores, labels)
    accepted = s >= threshold.value
    far = float(accepted[y == 0].mean())
    frr = float((~accepted[y == 1]).mean())
    per_attack = apcer_per_attack(s, y, attacks, threshold.value)
    worst = max(per_attack.values())
    return OperatingPoint(
        strategy=threshold.strategy,
        threshold=threshold.value,
        hter=(far + frr) / 2.0,
        far=far,
        frr=frr,
        apcer=worst,
        bpcer=frr,
        acer=(worst + frr) / 2.0,
        apcer_per_attack=per_attack,
    )


@dataclass(frozen=True)
class SourceValidation:
    """Threshold-free metrics of the held-out source validation scores.

    Attributes:
        auc: AUC of the source validation scores.
        eer: their EER (used by the ``BEST_SOURCE_VAL`` checkpoint policy).
        threshold: their EER threshold (the honest threshold).
        num_samples: number of frames/images.
        num_videos: number of videos when video ids were given, else ``None``.
    """

    auc: float
    eer: float
    threshold: float
    num_samples: int
    num_videos: int | None


@dataclass(frozen=True)
class EvaluationResult:
    """All metrics of one target test set (one task) at one evaluation.

    Attributes:
        level: ``"video"`` when scores were averaged per video, else ``"frame"``.
        num_samples: number of frames/images scored.
        num_videos: number of videos (``None`` at frame level).
        num_live: live units (videos or frames) the metrics were computed on.
        num_spoof: spoof units the metrics were computed on.
        auc: target AUC.
        eer: target EER.
        eer_threshold: target EER threshold (= ``oracle.threshold``).
        tpr_at_fpr_1pct: TPR at FPR <= 1%.
        tpr_at_fpr_01pct: TPR at FPR <= 0.1%.
        oracle: metrics at the oracle threshold (target test EER threshold).
        honest: metrics at the source validation EER threshold, when source scores were
            given.
        fixed: metrics at the fixed threshold, when one was given.
        source_val: metrics of the source validation scores themselves, when given.
        roc: the target ROC curve (not serialised).
        step: optional training step or epoch of the evaluated checkpoint.
    """

    level: Literal["frame", "video"]
    num_samples: int
    num_videos: int | None
    num_live: int
    num_spoof: int
    auc: float
    eer: float
    eer_threshold: float
    tpr_at_fpr_1pct: float
    tpr_at_fpr_01pct: float
    oracle: OperatingPoint
    honest: OperatingPoint | None = None
    fixed: OperatingPoint | None = None
    source_val: SourceValidation | None = None
    roc: RocCurve | None = field(default=None, repr=False, compare=False)
    step: int | None = None

    @property
    def operating_points(self) -> dict[ThresholdStrategy, OperatingPoint]:
        """The available operating points keyed by strategy."""
        points = (self.oracle, self.honest, self.fixed)
        return {p.strategy: p for p in points if p is not None}

    def at(self, strategy: ThresholdStrategy | str) -> OperatingPoint:
        """The operating point of ``strategy``.

        Raises:
            ValueError: when that strategy was not computed (no source validation scores
                or no fixed threshold were given).
        """
        strat = ThresholdStrategy.coerce(strategy)
        points = self.operating_points
        if strat not in points:
            need = {
                ThresholdStrategy.SOURCE_VAL_EER: "pass source_scores and source_labels",
                ThresholdStrategy.FIXED: "pass fixed_threshold",
            }.get(strat, "")
            raise ValueError(f"no {strat.value!r} operating point in this result; {need}")
        return points[strat]


def _maybe_video(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    video_ids: VideoIds | None,
    attacks: ArrayLike1D | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64] | None, int, int | None]:
    s, y = to_scores_labels(scores, labels, need_both=False)
    a = to_attacks(attacks, y) if attacks is not None else None
    if video_ids is None:
        return s, y, a, int(s.size), None
    v = video_level(s, y, video_ids, a)
    return v.scores, v.labels, v.attacks, int(s.size), len(v.video_ids)


def evaluate_scores(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    *,
    attacks: ArrayLike1D | None = None,
    video_ids: VideoIds | None = None,
    source_scores: ArrayLike1D | None = None,
    source_labels: ArrayLike1D | None = None,
    source_video_ids: VideoIds | None = None,
    fixed_threshold_value: float | None = 0.5,
    step: int | None = None,
) -> EvaluationResult:
    """Evaluate target test scores under the oracle and the honest thresholds.

    With ``video_ids`` the frame scores are first averaged per video
    (:func:`~disentangle_fas.metrics.video_level`) and every metric is computed on videos.
    The oracle threshold is the target EER threshold; the honest threshold is the EER
    threshold of the source validation scores (averaged per video when
    ``source_video_ids`` is given); the fixed threshold is ``fixed_threshold_value``.

    Args:
        scores: target test ``P(live)`` per frame.
        labels: target test labels, 1 = live, 0 = spoof.
        attacks: optional attack id per frame (0 live, positive spoof).
        video_ids: optional video id per frame for video-level scoring.
        source_scores: optional held-out source validation ``P(live)``.
        source_labels: their labels (required with ``source_scores``).
        source_video_ids: optional video ids of the source validation frames.
        fixed_threshold_value: threshold of the ``FIXED`` operating point; ``None`` skips it.
        step: optional training step/epoch recorded in the result.

    Returns:
        The :class:`EvaluationResult`.

    Shape:
        scores, labels, attacks, video_ids: ``(N,)``; source inputs: ``(M,)``.

    Raises:
        ValueError: on invalid input, a single class in the target (or source) set, or
            ``source_scores`` given without ``source_labels`` (or the reverse).

    Example:
        >>> r = evaluate_scores([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
        >>> r.oracle.hter, r.auc
        (0.0, 1.0)
    """
    s, y, a, n_samples, n_videos = _maybe_video(scores, labels, video_ids, attacks)
    s, y = to_scores_labels(s, y)  # both classes needed (checked after aggregation)
    counts = _counts(s, y)
    roc = _roc(counts)
    eer_value, eer_thr = _eer(counts)
    oracle = operating_point(s, y, Threshold(ThresholdStrategy.ORACLE_TARGET_EER, eer_thr), a)

    fixed = None
    if fixed_threshold_value is not None:
        fixed = operating_point(s, y, fixed_threshold(fixed_threshold_value), a)

    honest = None
    source_val = None
    if (source_scores is None) != (source_labels is None):
        raise ValueError("give both source_scores and source_labels, or neither")
    if source_scores is not None and source_labels is not None:
        ss, sy, _, s_samples, s_videos = _maybe_video(
            source_scores, source_labels, source_video_ids, None
        )
        ss, sy = to_scores_labels(ss, sy)
        s_counts = _counts(ss, sy)
        s_eer, s_thr = _eer(s_counts)
        source_val = SourceValidation(
            auc=_auc(s_counts),
            eer=s_eer,
            threshold=s_thr,
            num_samples=s_samples,
            num_videos=s_videos,
        )
        honest = operating_point(s, y, Threshold(ThresholdStrategy.SOURCE_VAL_EER, s_thr), a)

    return EvaluationResult(
        level="frame" if n_videos is None else "video",
        num_samples=n_samples,
        num_videos=n_videos,
        num_live=int(y.sum()),
        num_spoof=int(y.size - y.sum()),
        auc=_auc(counts),
        eer=eer_value,
        eer_threshold=eer_thr,
        tpr_at_fpr_1pct=float(roc.tpr[_best_index_at_fpr(roc, 0.01)]),
        tpr_at_fpr_01pct=float(roc.tpr[_best_index_at_fpr(roc, 0.001)]),
        oracle=oracle,
        honest=honest,
        fixed=fixed,
        source_val=source_val,
        roc=roc,
        step=step,
    )
