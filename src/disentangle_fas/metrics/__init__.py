"""Face anti-spoofing metrics, threshold strategies, checkpoint policies and reports.

Conventions: ``scores`` are ``P(live)``; ``labels`` are 1 = live (bona fide), 0 = spoof;
a sample is accepted as live iff ``score >= threshold``; every rate is a fraction in
``[0, 1]`` (reports print percentages). Inputs are 1-D numpy arrays, torch tensors or
sequences. Metrics are computed in numpy (no scikit-learn needed).

* ROC metrics: :func:`roc_curve`, :func:`auc`, :func:`eer`, :func:`hter`,
  :func:`far_frr`, :func:`tpr_at_fpr`, :func:`threshold_at_fpr`.
* ISO/IEC 30107-3: :func:`apcer_per_attack`, :func:`apcer` (worst case), :func:`bpcer`,
  :func:`acer`.
* Video level: :func:`video_level`.
* Thresholds: :class:`ThresholdStrategy` (oracle target EER, fixed, source validation
  EER) and :func:`select_threshold`; checkpoints: :class:`CheckpointPolicy` and
  :func:`select_checkpoint`.
* Everything at once: :func:`evaluate_scores` -> :class:`EvaluationResult`; tables:
  :class:`Report` (Markdown, CSV, JSON, ROC PNG).
* Degenerate scores: :func:`check_score_spread` raises :class:`DegenerateScoresError`
  for (nearly) constant scores, on which every metric would rank rounding noise.
* Uncertainty: :func:`mean_std`, :func:`t_interval`, :func:`paired_difference`,
  :func:`bootstrap_interval` (and :func:`t_quantile`, :func:`t_cdf`); tests of a family of
  comparisons: :func:`paired_t_test`, :func:`bootstrap_test`, :func:`holm_adjust`.
"""

from disentangle_fas.metrics.checkpoints import CheckpointPolicy, select_checkpoint
from disentangle_fas.metrics.degenerate import (
    DEFAULT_SPREAD_TOL,
    DegenerateScoresError,
    check_score_spread,
    score_spread,
)
from disentangle_fas.metrics.evaluate import (
    EvaluationResult,
    OperatingPoint,
    SourceValidation,
    evaluate_scores,
    operating_point,
)
from disentangle_fas.metrics.iso import acer, apcer, apcer_per_attack, bpcer
from disentangle_fas.metrics.plots import save_roc_png
from disentangle_fas.metrics.report import Report, TaskMetrics
from disentangle_fas.metrics.roc import (
    RocCurve,
    auc,
    eer,
    far_frr,
    hter,
    roc_curve,
    threshold_at_fpr,
    tpr_at_fpr,
)
from disentangle_fas.metrics.thresholds import (
    Threshold,
    ThresholdStrategy,
    fixed_threshold,
    oracle_threshold,
    select_threshold,
    source_val_threshold,
)
from disentangle_fas.metrics.uncertainty import (
    Interval,
    MeanStd,
    bootstrap_interval,
    bootstrap_test,
    holm_adjust,
    mean_std,
    paired_difference,
    paired_t_test,
    t_cdf,
    t_interval,
    t_quantile,
)
from disentangle_fas.metrics.video import VideoScores, video_level

__all__ = [
    "DEFAULT_SPREAD_TOL",
    "CheckpointPolicy",
    "DegenerateScoresError",
    "EvaluationResult",
    "Interval",
    "MeanStd",
    "OperatingPoint",
    "Report",
    "RocCurve",
    "SourceValidation",
    "TaskMetrics",
    "Threshold",
    "ThresholdStrategy",
    "VideoScores",
    "acer",
    "apcer",
    "apcer_per_attack",
    "auc",
    "bootstrap_interval",
    "bootstrap_test",
    "bpcer",
    "check_score_spread",
    "eer",
    "evaluate_scores",
    "far_frr",
    "fixed_threshold",
    "holm_adjust",
    "hter",
    "mean_std",
    "operating_point",
    "oracle_threshold",
    "paired_difference",
    "paired_t_test",
    "roc_curve",
    "save_roc_png",
    "score_spread",
    "select_checkpoint",
    "select_threshold",
    "source_val_threshold",
    "t_cdf",
    "t_interval",
    "t_quantile",
    "threshold_at_fpr",
    "tpr_at_fpr",
    "video_level",
]
