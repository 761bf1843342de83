"""Run every task of a protocol (and several model variants) and print one table."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from disentangle_fas.contracts import Variant
from disentangle_fas.metrics import Report
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData, build_task, protocol_tasks
from disentangle_fas.training.loop import TrainResult, train
from disentangle_fas.training.methods import available_methods

__all__ = ["ProtocolResult", "combined_markdown", "run_protocol"]


@dataclass
class ProtocolResult:
    """Results of a protocol run.

    Attributes:
        reports: variant -> report under the configured threshold strategy and checkpoint
            policy.
        oracle_reports: variant -> report of the same checkpoints at the oracle threshold
            (target test EER), for comparison with published tables.
        runs: (variant, task) -> the run's :class:`TrainResult`.
        data: what the models were trained and tested on.
    """

    reports: dict[str, Report]
    oracle_reports: dict[str, Report]
    runs: dict[tuple[str, str], TrainResult]
    data: str = "synthetic"

    def to_markdown(self) -> str:
        """Both tables, each followed by the line naming its threshold and checkpoint choice."""
        what = "the built-in synthetic benchmark" if self.data == "synthetic" else self.data
        return (
            f"Data: {what}. HTER and AUC in %, scores averaged per video.\n\n"
            + combined_markdown(list(self.reports.values()))
            + "\n"
            + combined_markdown(list(self.oracle_reports.values()))
        )


def combined_markdown(reports: Sequence[Report], digits: int = 2) -> str:
    """One paper-style table with a row per method (every report has the same tasks).

    Raises:
        ValueError: no reports, or reports with different tasks or protocols.
    """
    if not reports:
        raise ValueError("no reports to combine")
    tasks = [t.task for t in reports[0].tasks]
    line = reports[0].protocol_line()
    header = ["Method"] + [f"{t} {m}" for t in tasks for m in ("HTER (%)", "AUC (%)")]
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for rep in reports:
        if [t.task for t in rep.tasks] != tasks or rep.protocol_line() != line:
            raise ValueError("reports differ in tasks or in threshold/checkpoint protocol")
        cells = [rep.method]
        for t in rep.tasks:
            cells += [f"{100 * t.hter:.{digits}f}", f"{100 * t.auc:.{digits}f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + line + "\n"


def run_protocol(
    cfg: TrainConfig,
    *,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] = ("full",),
    task_builder: Callable[[TrainConfig], TaskData] = build_task,
    echo: Callable[[str], None] = print,
) -> ProtocolResult:
    """Train and evaluate ``variants`` on every task.

    Each run writes to ``<cfg.out>/<variant>/<task>``; the tables are written to
    ``<cfg.out>/results.md`` and ``results.json``.

    Args:
        cfg: the base configuration (its ``task`` and ``variant`` are replaced per run).
        tasks: task names; all leave-one-out tasks of ``cfg.data`` when ``None``.
        variants: what to compare: Table 3 variants of the paper's method (``"full"``,
            ``"baseline"``, ``"content"``, ``"domain"``) and/or ``"ssdg-r"``.
        task_builder: builds the data of one task.
        echo: where progress lines go.

    Returns:
        The :class:`ProtocolResult`.
    """
    names = list(tasks) if tasks is not None else protocol_tasks(cfg)
    runs: dict[tuple[str, str], TrainResult] = {}
    reports: dict[str, Report] = {}
    oracle_reports: dict[str, Report] = {}
    root = Path(cfg.out)
    for variant in variants:  # refuse an unknown name before any training
        _run_config(cfg, variant, names[0] if names else "", root)
    for variant in variants:
        results = {}
        for name in names:
            run_cfg = _run_config(cfg, variant, name, root)
            task = task_builder(run_cfg)
            res = train(run_cfg, task)
            runs[(variant, task.name)] = res
            results[task.name] = res.result
            echo(
                f"[{variant}] {task.name}: HTER {100 * res.metrics.hter:.2f}% "
                f"AUC {100 * res.metrics.auc:.2f}% ({res.seconds:.0f} s)"
            )
        reports[variant] = Report.from_results(
            results,
            threshold_strategy=cfg.threshold,
            checkpoint_policy=cfg.checkpoint_policy,
            method=variant,
        )
        oracle_reports[variant] = Report.from_results(
            results,
            threshold_strategy="oracle_target_eer",
            checkpoint_policy=cfg.checkpoint_policy,
            method=variant,
        )
    out = ProtocolResult(reports, oracle_reports, runs, cfg.data)
    root.mkdir(parents=True, exist_ok=True)
    (root / "results.md").write_text(out.to_markdown())
    (root / "results.json").write_text(
        json.dumps(
            {v: r.to_dict() for v, r in reports.items()}
            | {f"{v} (oracle threshold)": r.to_dict() for v, r in oracle_reports.items()},
            indent=2,
        )
    )
    return out


def _run_config(cfg: TrainConfig, variant: str, task: str, root: Path) -> TrainConfig:
    """``variant`` is a Table 3 variant of the paper's method or a registered method name.

    Raises:
        ValueError: neither.
    """
    out = str(root / variant / _slug(task))
    if variant in {v.value for v in Variant}:
        return cfg.replace(task=task, method="disentangle", variant=variant, out=out)
    if variant in available_methods():
        return cfg.replace(task=task, method=variant, out=out)
    raise ValueError(
        f"unknown variant {variant!r}: use a Table 3 variant ({[v.value for v in Variant]}) "
        f"or a method name ({available_methods()})"
    )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "task"
