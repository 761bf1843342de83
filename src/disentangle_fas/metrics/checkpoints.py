"""Named checkpoint-selection policies: the field's oracle, the last, the honest one.

Many DG-FAS papers evaluate the target test set during training and report the
checkpoint with the best target HTER: an **oracle** choice, since it looks at the test
labels. :func:`select_checkpoint` offers it under that name, next to two policies that
never look at the target test labels: the last checkpoint, and the checkpoint with the
lowest EER on held-out source validation data.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from disentangle_fas.metrics.evaluate import EvaluationResult

__all__ = ["CheckpointPolicy", "select_checkpoint"]


class CheckpointPolicy(str, Enum):  # noqa: UP042 (StrEnum needs Python 3.11)
    """How the reported checkpoint was chosen among the evaluated ones."""

    ORACLE_BEST_TARGET = "oracle_best_target"
    LAST = "last"
    BEST_SOURCE_VAL = "best_source_val"

    @property
    def is_oracle(self) -> bool:
        """Whether the policy looks at the target test labels."""
        return self is CheckpointPolicy.ORACLE_BEST_TARGET

    @property
    def description(self) -> str:
        """One-line human-readable description, used in reports."""
        return _POLICY_TEXT[self]

    @classmethod
    def coerce(cls, value: CheckpointPolicy | str) -> CheckpointPolicy:
        """Return ``value`` as a member, accepting its string value.

        Raises:
            ValueError: when ``value`` names no policy.
        """
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(repr(m.value) for m in cls)
            raise ValueError(
                f"unknown checkpoint policy {value!r}; choose one of {names}"
            ) from None


_POLICY_TEXT = {
    CheckpointPolicy.ORACLE_BEST_TARGET: (
        "oracle: checkpoint with the lowest target test HTER at the oracle threshold; "
        "uses the test labels"
    ),
    CheckpointPolicy.LAST: "last checkpoint of training",
    CheckpointPolicy.BEST_SOURCE_VAL: (
        "honest: checkpoint with the lowest EER on held-out source validation data"
    ),
}


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
    pol = CheckpointPolicy.coerce(policy)
    if len(results) == 0:
        raise ValueError("results is empty: evaluate at least one checkpoint")
    if pol is CheckpointPolicy.LAST:
        return len(results) - 1
    if pol is CheckpointPolicy.ORACLE_BEST_TARGET:
        keys = [(r.oracle.hter, -r.auc, i) for i, r in enumerate(results)]
        return min(keys)[2]
    source_keys: list[tuple[float, float, int]] = []
    for i, r in enumerate(results):
        if r.source_val is None:
            raise ValueError(
                f"result {i} has no source validation metrics; the best_source_val policy "
                "needs evaluate_scores(..., source_scores=..., source_labels=...)"
            )
        source_keys.append((r.source_val.eer, -r.source_val.auc, i))
    return min(source_keys)[2]
