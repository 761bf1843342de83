"""The words of a protocol's tables: each table's title, the line naming its threshold and
checkpoint protocol, and the full-oracle table's Markdown and JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from disentangle_fas.metrics import CheckpointPolicy, ThresholdStrategy
from disentangle_fas.training.protocol_stats import TaskPoint

__all__ = [
    "FULL_ORACLE",
    "FULL_ORACLE_CSV",
    "checkpoint_name",
    "full_oracle_line",
    "main_title",
    "oracle_threshold_line",
    "oracle_threshold_title",
    "points_dict",
    "points_markdown",
    "protocol_text",
]

#: The name of the full-oracle table.
FULL_ORACLE = "Full oracle (target threshold + target-best checkpoint, as published tables)"

#: The CSV's first column for the full-oracle rows.
FULL_ORACLE_CSV = "oracle_target_eer + oracle_best_target (full oracle)"


def protocol_text(threshold: ThresholdStrategy, policy: CheckpointPolicy) -> str:
    """The sentence naming a table's threshold strategy and checkpoint policy."""
    return (
        f"Threshold strategy: {threshold.value} ({threshold.description}). "
        f"Checkpoint policy: {policy.value} ({policy.description})."
    )


def full_oracle_line() -> str:
    """The full-oracle table's protocol line."""
    return (
        protocol_text(ThresholdStrategy.ORACLE_TARGET_EER, CheckpointPolicy.ORACLE_BEST_TARGET)
        + " Full oracle: comparable with published tables, not with deployment."
    )


def checkpoint_name(policy: str) -> str:
    """The short name of a checkpoint policy in titles: honest, last or target-best."""
    pol = CheckpointPolicy.coerce(policy)
    return {
        CheckpointPolicy.BEST_SOURCE_VAL: "honest",
        CheckpointPolicy.LAST: "last",
        CheckpointPolicy.ORACLE_BEST_TARGET: "target-best",
    }[pol]


def main_title(threshold: str, policy: str) -> str:
    """The configured table's title: "Honest" unless it uses target labels."""
    oracle = ThresholdStrategy.coerce(threshold).is_oracle
    oracle = oracle or CheckpointPolicy.coerce(policy).is_oracle
    return "Configured protocol (uses target labels)" if oracle else "Honest"


def oracle_threshold_title(policy: str) -> str:
    """The oracle-threshold table's title, naming its checkpoint."""
    return f"Oracle threshold ({checkpoint_name(policy)} checkpoint)"


def oracle_threshold_line(policy: str) -> str:
    """The oracle-threshold table's protocol line and what it is not comparable with."""
    pol = CheckpointPolicy.coerce(policy)
    line = protocol_text(ThresholdStrategy.ORACLE_TARGET_EER, pol)
    if pol is CheckpointPolicy.ORACLE_BEST_TARGET:
        return line + " Full oracle: comparable with published tables, not with deployment."
    return line + (
        f" Oracle threshold on the {checkpoint_name(policy)} checkpoint: not what published"
        " tables report (they also pick the checkpoint on the target test set), nor what a"
        " deployment sees."
    )


def points_markdown(points: Mapping[str, Sequence[TaskPoint]], footer: str) -> str:
    """A paper-style table of task points, one row per variant (named as full oracle)."""
    variants = list(points)
    tasks = [p.task for p in points[variants[0]]]
    header = ["Method"] + [f"{t} {m}" for t in tasks for m in ("HTER (%)", "AUC (%)")]
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for v in variants:
        cells = [f"{v} (full oracle)"]
        for p in points[v]:
            cells += [f"{100 * p.hter:.2f}", f"{100 * p.auc:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + footer + "\n"


def points_dict(points: Sequence[TaskPoint]) -> dict[str, Any]:
    """The full-oracle table as JSON: its name, protocol and task points."""
    return {
        "table": FULL_ORACLE,
        "threshold_strategy": ThresholdStrategy.ORACLE_TARGET_EER.value,
        "checkpoint_policy": CheckpointPolicy.ORACLE_BEST_TARGET.value,
        "oracle": True,
        "tasks": [p.to_dict() for p in points],
    }
