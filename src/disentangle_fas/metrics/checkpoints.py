"""Named checkpoint-selection policies: the field's oracle, the last, the honest one.

Many DG-FAS papers evaluate the target test set during training and report the
checkpoint with the best target HTER: an **oracle** choice, since it looks at the test
labels. :func:`select_checkpoint` offers it under that name, next to two policies that
never look at the target test labels: the last checkpoint, and the checkpoint with the
lowest EER on held-out source validation data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from disentangle_fas.metrics.choices import NamedChoice
from disentangle_fas.metrics.evaluate import EvaluationResult

__all__ = ["CheckpointPolicy", "CheckpointScores", "select_checkpoint", "select_index"]


class CheckpointPolicy(NamedChoice):
    """How the reported checkpoint was chosen among the evaluated ones."""

    ORACLE_BEST_TARGET = (
        "oracle_best_target",
        "oracle: checkpoint with the lowest target test HTER; uses the test labels",
    )
    LAST = "last", "last checkpoint of training"
    BEST_SOURCE_VAL = (
        "best_source_val",
        "honest: checkpoint with the lowest EER on held-out source validation data",
    )


@dataclass(frozen=True)
class CheckpointScores:
    """The numbers of one evaluated checkpoint that the selection policies read.

    Attributes:
        target_hter_oracle: target test HTER at the target's own EER threshold.
        target_auc: target test AUC.
        source_val_eer: EER on held-out source validation data (``None`` when not
            measured).
        source_val_auc: AUC on held-out source validation data (``None`` when not
            measured).
    """

    target_hter_oracle: float
    target_auc: float
    source_val_eer: float | None = None
    source_val_auc: float | None = None

    @classmethod
    def from_result(cls, result: EvaluationResult) -> CheckpointScores:
        """The scores of an :class:`EvaluationResult`."""
        src = result.source_val
        return cls(
            target_hter_oracle=result.oracle.hter,
            target_auc=result.auc,
            source_val_eer=None if src is None else src.eer,
            source_val_auc=None if src is None else src.auc,
        )


def select_index(scores: Sequence[CheckpointScores], policy: CheckpointPolicy | str) -> int:
    """The rule of :func:`select_checkpoint`, on the scores alone.

    The training loop applies it to its history after each evaluation, so the file it
    keeps for a policy is the checkpoint :func:`select_checkpoint` picks.

    Args:
        scores: one entry per evaluated checkpoint, in training order.
        policy: a :class:`CheckpointPolicy` or its string value.

    Returns:
        The index of the chosen checkpoint.

    Raises:
        ValueError: on an empty sequence, an unknown policy, or a missing source
            validation EER or AUC for ``BEST_SOURCE_VAL``.
    """
    pol = CheckpointPolicy.coerce(policy)
    if len(scores) == 0:
        raise ValueError("results is empty: evaluate at least one checkpoint")
    if pol is CheckpointPolicy.LAST:
        return len(scores) - 1
    if pol is CheckpointPolicy.ORACLE_BEST_TARGET:
        keys = [(s.target_hter_oracle, -s.target_auc, i) for i, s in enumerate(scores)]
        return min(keys)[2]
    source_keys: list[tuple[float, float, int]] = []
    for i, s in enumerate(scores):
        if s.source_val_eer is None or s.source_val_auc is None:
            raise ValueError(
                f"result {i} has no source validation metrics; the best_source_val policy "
                "needs evaluate_scores(..., source_scores=..., source_labels=...)"
            )
        source_keys.append((s.source_val_eer, -s.source_val_auc, i))
    return min(source_keys)[2]


def select_checkpoint(results: Sequence[EvaluationResult], policy: CheckpointPolicy | str) -> int:
    """Pick a checkpoint among per-evaluation results according to ``policy``.

    * ``ORACLE_BEST_TARGET``: lowest ``result.oracle.hter`` (target test HTER at the
      target EER threshold); ties go to the higher target AUC, then the earliest.
    * ``LAST``: the last result.
    * ``BEST_SOURCE_VAL``: lowest ``result.source_val.eer``; ties go to the higher
      source validation AUC, then the earliest. Every result needs source validation
      metrics (``evaluate_scores(..., source_scores=..., source_labels=...)``).

    Args:
        results: one :class:`EvaluationResult` per evaluated checkpoint, in training
            order.
        policy: a :class:`CheckpointPolicy` or its string value.

    Returns:
        The index into ``results`` of the chosen checkpoint.

    Raises:
        ValueError: on an empty sequence, an unknown policy, or missing source
            validation metrics for ``BEST_SOURCE_VAL``.
    """
    return select_index([CheckpointScores.from_result(r) for r in results], policy)
