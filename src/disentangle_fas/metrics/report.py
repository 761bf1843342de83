"""Reports: per-task metrics rendered as a paper-style Markdown table, CSV and JSON.

A :class:`Report` holds one :class:`TaskMetrics` row per task (protocol name, e.g.
``"O&C&I to M"``), all produced by one threshold strategy and one checkpoint policy,
which every rendering names.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from disentangle_fas.metrics.checkpoints import CheckpointPolicy
from disentangle_fas.metrics.evaluate import EvaluationResult
from disentangle_fas.metrics.roc import RocCurve
from disentangle_fas.metrics.thresholds import ThresholdStrategy

__all__ = ["Report", "TaskMetrics"]


@dataclass(frozen=True)
class TaskMetrics:
    """The metrics of one task at one threshold and checkpoint. Rates are fractions.

    Attributes:
        task: task (protocol) name, e.g. ``"O&C&I to M"``.
        hter: HTER at ``threshold``.
        auc: AUC.
        eer: EER.
        threshold: the threshold the threshold-dependent metrics use.
        apcer: worst-case APCER at ``threshold``.
        bpcer: BPCER at ``threshold``.
        acer: ACER at ``threshold``.
        tpr_at_fpr_1pct: TPR at FPR <= 1%.
        tpr_at_fpr_01pct: TPR at FPR <= 0.1%.
        num_samples: frames/images scored.
        num_videos: videos (``None`` at frame level).
        threshold_strategy: how ``threshold`` was chosen.
        checkpoint_policy: how the checkpoint was chosen.
        level: ``"frame"`` or ``"video"``.
        checkpoint: step/epoch (or index) of the chosen checkpoint, if known.
        apcer_per_attack: APCER of each attack id.
    """

    task: str
    hter: float
    auc: float
    eer: float
    threshold: float
    apcer: float
    bpcer: float
    acer: float
    tpr_at_fpr_1pct: float
    tpr_at_fpr_01pct: float
    num_samples: int
    num_videos: int | None
    threshold_strategy: ThresholdStrategy
    checkpoint_policy: CheckpointPolicy
    level: str = "frame"
    checkpoint: int | None = None
    apcer_per_attack: dict[int, float] = field(default_factory=dict)

    @classmethod
    def from_result(
        cls,
        task: str,
        result: EvaluationResult,
        threshold_strategy: ThresholdStrategy | str,
        checkpoint_policy: CheckpointPolicy | str,
        checkpoint: int | None = None,
    ) -> TaskMetrics:
        """Build the row of ``task`` from an evaluation result.

        Args:
            task: task name.
            result: the result of the chosen checkpoint.
            threshold_strategy: which operating point of ``result`` to report.
            checkpoint_policy: how ``result``'s checkpoint was chosen.
            checkpoint: its step/epoch; defaults to ``result.step``.

        Returns:
            The row.

        Raises:
            ValueError: when ``result`` lacks the strategy's operating point.
        """
        point = result.at(threshold_strategy)
        return cls(
            task=task,
            hter=point.hter,
            auc=result.auc,
            eer=result.eer,
            threshold=point.threshold,
            apcer=point.apcer,
            bpcer=point.bpcer,
            acer=point.acer,
            tpr_at_fpr_1pct=result.tpr_at_fpr_1pct,
            tpr_at_fpr_01pct=result.tpr_at_fpr_01pct,
            num_samples=result.num_samples,
            num_videos=result.num_videos,
            threshold_strategy=point.strategy,
            checkpoint_policy=CheckpointPolicy.coerce(checkpoint_policy),
            level=result.level,
            checkpoint=result.step if checkpoint is None else checkpoint,
            apcer_per_attack=dict(point.apcer_per_attack),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (enums as strings, attack ids as string keys)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["threshold_strategy"] = self.threshold_strategy.value
        out["checkpoint_policy"] = self.checkpoint_policy.value
        out["apcer_per_attack"] = {str(k): v for k, v in self.apcer_per_attack.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskMetrics:
        """Inverse of :meth:`to_dict`."""

        def opt_int(v: Any) -> int | None:
            return None if v is None or v == "" else int(v)

        per_attack = data.get("apcer_per_attack") or {}
        if isinstance(per_attack, str):
            per_attack = json.loads(per_attack)
        return cls(
            task=str(data["task"]),
            hter=float(data["hter"]),
            auc=float(data["auc"]),
            eer=float(data["eer"]),
            threshold=float(data["threshold"]),
            apcer=float(data["apcer"]),
            bpcer=float(data["bpcer"]),
            acer=float(data["acer"]),
            tpr_at_fpr_1pct=float(data["tpr_at_fpr_1pct"]),
            tpr_at_fpr_01pct=float(data["tpr_at_fpr_01pct"]),
            num_samples=int(data["num_samples"]),
            num_videos=opt_int(data.get("num_videos")),
            threshold_strategy=ThresholdStrategy.coerce(data["threshold_strategy"]),
            checkpoint_policy=CheckpointPolicy.coerce(data["checkpoint_policy"]),
            level=str(data.get("level", "frame")),
            checkpoint=opt_int(data.get("checkpoint")),
            apcer_per_attack={int(k): float(v) for k, v in per_attack.items()},
        )


_CSV_FIELDS = [f.name for f in fields(TaskMetrics)]


def _pct(x: float, digits: int) -> str:
    return f"{100.0 * x:.{digits}f}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


@dataclass
class Report:
    """Metrics of one or more tasks under one threshold strategy and checkpoint policy.

    Attributes:
        tasks: one row per task, unique names, all with the same strategy and policy.
        method: the method name shown in the paper-style table.
        roc_curves: task name -> target ROC curve, for :meth:`save_roc_png` (not
            serialised).

    Example:
        >>> from disentangle_fas.metrics import evaluate_scores
        >>> r = evaluate_scores([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
        >>> rep = Report.from_results({"O&C&I to M": r}, threshold_strategy="oracle_target_eer",
        ...                           checkpoint_policy="last")
        >>> rep.tasks[0].hter
        0.0
    """

    tasks: list[TaskMetrics]
    method: str = "disentangle-fas"
    roc_curves: dict[str, RocCurve] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("a report needs at least one task")
        names = [t.task for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique; got {names}")
        strategies = {t.threshold_strategy for t in self.tasks}
        policies = {t.checkpoint_policy for t in self.tasks}
        if len(strategies) != 1 or len(policies) != 1:
            raise ValueError(
                "all tasks of a report must share one threshold strategy and one checkpoint "
                f"policy (got {sorted(s.value for s in strategies)} and "
                f"{sorted(p.value for p in policies)}); make one report per combination"
            )

    @property
    def threshold_strategy(self) -> ThresholdStrategy:
        """The threshold strategy of every row."""
        return self.tasks[0].threshold_strategy

    @property
    def checkpoint_policy(self) -> CheckpointPolicy:
        """The checkpoint policy of every row."""
        return self.tasks[0].checkpoint_policy

    @property
    def is_oracle(self) -> bool:
        """Whether the threshold or the checkpoint was chosen with target test labels."""
        return self.threshold_strategy.is_oracle or self.checkpoint_policy.is_oracle

    @classmethod
    def from_results(
        cls,
        results: Mapping[str, EvaluationResult],
        *,
        threshold_strategy: ThresholdStrategy | str,
        checkpoint_policy: CheckpointPolicy | str,
        method: str = "disentangle-fas",
        checkpoints: Mapping[str, int] | None = None,
    ) -> Report:
        """Build a report from task name -> result of the chosen checkpoint.

        Args:
            results: task name -> :class:`EvaluationResult` (insertion order kept).
            threshold_strategy: which operating point to report.
            checkpoint_policy: how each result's checkpoint was chosen.
            method: method name for the table.
            checkpoints: optional task name -> step/epoch of the chosen checkpoint.

        Returns:
            The report, with the ROC curves of the results attached.

        Raises:
            ValueError: on no results or a result lacking the strategy's operating point.
        """
        rows = [
            TaskMetrics.from_result(
                name,
                res,
                threshold_strategy,
                checkpoint_policy,
                None if checkpoints is None else checkpoints.get(name),
            )
            for name, res in results.items()
        ]
        curves = {name: res.roc for name, res in results.items() if res.roc is not None}
        return cls(tasks=rows, method=method, roc_curves=curves)

    def protocol_line(self) -> str:
        """The sentence naming the threshold strategy and checkpoint policy."""
        line = (
            f"Threshold strategy: {self.threshold_strategy.value} "
            f"({self.threshold_strategy.description}). "
            f"Checkpoint policy: {self.checkpoint_policy.value} "
            f"({self.checkpoint_policy.description})."
        )
        if self.is_oracle:
            line += " Oracle numbers: comparable with published tables, not with deployment."
        return line

    def to_markdown(self, *, detailed: bool = False, digits: int = 2) -> str:
        """Paper-style Markdown: one row for the method, HTER (%) and AUC (%) per task.

        Args:
            detailed: also add a table with every metric, one row per task.
            digits: decimals of the percentages.

        Returns:
            The Markdown text, ending with the line that names the threshold strategy and
            checkpoint policy.
        """
        header = ["Method"]
        cells = [_md_escape(self.method)]
        for t in self.tasks:
            name = _md_escape(t.task)
            header += [f"{name} HTER (%)", f"{name} AUC (%)"]
            cells += [_pct(t.hter, digits), _pct(t.auc, digits)]
        lines = [
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
            "| " + " | ".join(cells) + " |",
        ]
        if detailed:
            cols = [
                "Task", "HTER (%)", "AUC (%)", "EER (%)", "Threshold", "APCER (%)",
                "BPCER (%)", "ACER (%)", "TPR@FPR=1% (%)", "TPR@FPR=0.1% (%)", "Level",
                "Samples", "Videos",
            ]  # fmt: skip
            lines += ["", "| " + " | ".join(cols) + " |", "| --- |" + " ---: |" * (len(cols) - 1)]
            for t in self.tasks:
                row = [
                    _md_escape(t.task),
                    *(_pct(v, digits) for v in (t.hter, t.auc, t.eer)),
                    f"{t.threshold:.4f}",
                    *(_pct(v, digits) for v in (t.apcer, t.bpcer, t.acer)),
                    *(_pct(v, digits) for v in (t.tpr_at_fpr_1pct, t.tpr_at_fpr_01pct)),
                    t.level,
                    str(t.num_samples),
                    "-" if t.num_videos is None else str(t.num_videos),
                ]
                lines.append("| " + " | ".join(row) + " |")
        lines += ["", self.protocol_line()]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict naming the strategy and policy at the top level."""
        return {
            "method": self.method,
            "threshold_strategy": self.threshold_strategy.value,
            "threshold_strategy_description": self.threshold_strategy.description,
            "checkpoint_policy": self.checkpoint_policy.value,
            "checkpoint_policy_description": self.checkpoint_policy.description,
            "oracle": self.is_oracle,
            "tasks": [t.to_dict() for t in self.tasks],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON (fractions, not percentages)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Parse :meth:`to_json` output."""
        data = json.loads(text)
        return cls(
            tasks=[TaskMetrics.from_dict(t) for t in data["tasks"]],
            method=str(data.get("method", "disentangle-fas")),
        )

    def to_csv(self) -> str:
        """One CSV row per task with every field (fractions; per-attack APCER as JSON)."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for t in self.tasks:
            row = t.to_dict()
            row["apcer_per_attack"] = json.dumps(row["apcer_per_attack"])
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str, *, method: str = "disentangle-fas") -> Report:
        """Parse :meth:`to_csv` output."""
        rows = list(csv.DictReader(io.StringIO(text)))
        return cls(tasks=[TaskMetrics.from_dict(r) for r in rows], method=method)

    def save(self, path: str | Path) -> Path:
        """Write the report; the format follows the suffix (``.md``, ``.csv``, ``.json``).

        Raises:
            ValueError: on another suffix.
        """
        out = Path(path)
        render = {".md": self.to_markdown, ".csv": self.to_csv, ".json": self.to_json}
        if out.suffix not in render:
            raise ValueError(f"unknown report format {out.suffix!r}; use .md, .csv or .json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render[out.suffix](), encoding="utf-8")
        return out

    def save_roc_png(self, path: str | Path, *, log_fpr: bool = False) -> Path:
        """Plot the attached ROC curves (needs ``pip install "disentangle-fas[plots]"``).

        Raises:
            ValueError: when the report has no ROC curves (e.g. it was read from JSON).
            ImportError: when matplotlib is missing.
        """
        if not self.roc_curves:
            raise ValueError(
                "this report has no ROC curves; build it with Report.from_results(...)"
            )
        from disentangle_fas.metrics.plots import save_roc_png

        title = f"{self.method} ({self.threshold_strategy.value}, {self.checkpoint_policy.value})"
        return save_roc_png(self.roc_curves, path, title=title, log_fpr=log_fpr)
