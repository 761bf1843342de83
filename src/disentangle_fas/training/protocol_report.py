"""What a protocol run reports: per-run records assembled into per-seed reports, the
summaries over seeds, and the tables written to ``results.md``/``.csv``/``.json``.

:func:`~disentangle_fas.training.protocol.run_protocol` produces one :class:`RunRecord`
per (variant, task, seed) (in any order, possibly from worker processes) and calls
:func:`assemble_result`; everything printed or written is decided here.

Three tables, each named in every rendering:

* the configured protocol (by default **honest**: threshold and checkpoint chosen on
  held-out source data);
* the **full oracle** (target threshold + target-best checkpoint, as published tables): for
  each run, the evaluation of its history with the lowest target HTER at the target EER
  threshold (:attr:`~disentangle_fas.metrics.CheckpointPolicy.ORACLE_BEST_TARGET`), its
  HTER at that threshold and its AUC;
* the **oracle threshold** on the configured checkpoint: the target EER threshold applied
  to the checkpoint chosen without target labels, which is neither what published tables
  report nor what a deployment sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from disentangle_fas.checkpoint import load_model
from disentangle_fas.contracts import LivenessModel
from disentangle_fas.metrics import (
    CheckpointPolicy,
    EvaluationResult,
    Report,
)
from disentangle_fas.metrics.checkpoints import CheckpointScores, select_index
from disentangle_fas.training.protocol_stats import (
    SeedSummary,
    TargetScores,
    TaskPoint,
    summaries_csv,
    summarize_points,
    summarize_seeds,
)
from disentangle_fas.training.protocol_text import (
    FULL_ORACLE,
    FULL_ORACLE_CSV,
    checkpoint_name,
    full_oracle_line,
    main_title,
    oracle_threshold_line,
    oracle_threshold_title,
    points_dict,
    points_markdown,
)

__all__ = [
    "FULL_ORACLE",
    "ProtocolResult",
    "RunRecord",
    "assemble_result",
    "combined_markdown",
    "full_oracle_point",
]


@dataclass
class RunRecord:
    """What one finished run of a protocol contributes to its tables (picklable).

    Attributes:
        variant: the variant or method name.
        task: the task's name.
        seed: the run's seed.
        result: every metric of the chosen checkpoint.
        history: the run's per-evaluation summaries (``log.jsonl``'s ``eval`` rows).
        checkpoint: the chosen checkpoint's path.
        seconds: wall time of the run.
        target_scores: video-level target scores of the chosen checkpoint (the
            single-seed bootstrap reads them), or ``None``.
        extra: what the protocol's ``after_run`` returned for this run, or ``None``.
        source_val_split: how the task's source-validation set was held out
            (:attr:`~disentangle_fas.training.data.TaskData.source_val_split`).
    """

    variant: str
    task: str
    seed: int
    result: EvaluationResult
    history: list[dict[str, Any]]
    checkpoint: Path
    seconds: float
    target_scores: TargetScores | None = None
    extra: Any = None
    source_val_split: str = "unknown"

    def chosen_model(self, device: str | torch.device = "cpu") -> LivenessModel:
        """The model at the chosen checkpoint, in eval mode (a registered model kind).

        Raises:
            FileNotFoundError: the checkpoint was pruned (``keep="none"``).
        """
        return load_model(self.checkpoint, map_location=str(device)).model.eval()


@dataclass
class ProtocolResult:
    """Results of a protocol run.

    Attributes:
        reports: variant -> report of the first seed under the configured threshold
            strategy and checkpoint policy (a single run).
        oracle_reports: variant -> the first seed's report at the oracle threshold (target
            test EER) on the configured checkpoint (not the published tables' protocol,
            which also picks the checkpoint on the target: see :attr:`full_oracle_summary`).
        data: what the models were trained and tested on.
        seeds: the seeds, in run order.
        per_seed: seed -> variant -> report (configured threshold).
        per_seed_oracle: seed -> variant -> report (oracle threshold, configured checkpoint).
        summary: mean ± std and paired differences at the configured threshold; its AUC
            tests are the primary result.
        oracle_summary: the same at the oracle threshold on the configured checkpoint.
        env: torch version, device, thread count and platform of the run.
        threshold: the configured threshold strategy.
        records: every run's record, in run order.
        per_seed_full_oracle: seed -> variant -> the full oracle's point per task (target
            threshold and target-best checkpoint, from each run's history).
        full_oracle_summary: mean ± std and paired differences of the full oracle.
        checkpoint_policy: the configured checkpoint policy.
    """

    reports: dict[str, Report]
    oracle_reports: dict[str, Report]
    data: str = "synthetic"
    seeds: list[int] = field(default_factory=list)
    per_seed: dict[int, dict[str, Report]] = field(default_factory=dict)
    per_seed_oracle: dict[int, dict[str, Report]] = field(default_factory=dict)
    summary: SeedSummary | None = None
    oracle_summary: SeedSummary | None = None
    env: dict[str, Any] = field(default_factory=dict)
    threshold: str = "source_val_eer"
    records: list[RunRecord] = field(default_factory=list)
    per_seed_full_oracle: dict[int, dict[str, list[TaskPoint]]] = field(default_factory=dict)
    full_oracle_summary: SeedSummary | None = None
    checkpoint_policy: str = "best_source_val"

    @property
    def main_title(self) -> str:
        """The configured table's name (``"Honest"`` unless it uses target labels)."""
        return main_title(self.threshold, self.checkpoint_policy)

    @property
    def oracle_threshold_title(self) -> str:
        """The oracle-threshold table's name, e.g. ``"Oracle threshold (honest checkpoint)"``."""
        return oracle_threshold_title(self.checkpoint_policy)

    @property
    def runs(self) -> dict[tuple[str, str], RunRecord]:
        """(variant, task) -> the first seed's :class:`RunRecord`."""
        first = self.seeds[0] if self.seeds else None
        return {(r.variant, r.task): r for r in self.records if r.seed == first}

    def to_markdown(self) -> str:
        """The aggregate tables over seeds (configured, full oracle, oracle threshold),
        then every seed's single-run tables in the same order; each table is named before
        it and followed by the line naming its threshold and checkpoint choice.
        """
        what = "the built-in synthetic benchmark" if self.data == "synthetic" else self.data
        head = f"Data: {what}. HTER and AUC in %, scores averaged per video.\n\n"
        if self.env:
            head += "Run: " + ", ".join(f"{k} {v}" for k, v in self.env.items()) + ".\n\n"
        parts = [head]
        for summary in (self.summary, self.full_oracle_summary, self.oracle_summary):
            if summary is not None:
                parts += [summary.to_markdown(), "\n"]
        oracle_line = oracle_threshold_line(self.checkpoint_policy)
        seeds: list[int | None] = list(self.seeds) or [None]
        for seed in seeds:
            honest = self.reports if seed is None else self.per_seed[seed]
            oracle = self.oracle_reports if seed is None else self.per_seed_oracle[seed]
            if seed is not None and len(seeds) > 1:
                parts.append(f"Seed {seed}:\n\n")
            parts += [f"{self.main_title}:\n\n", combined_markdown(list(honest.values())), "\n"]
            if seed is not None and seed in self.per_seed_full_oracle:
                parts += [
                    f"{FULL_ORACLE}:\n\n",
                    points_markdown(self.per_seed_full_oracle[seed], full_oracle_line()),
                    "\n",
                ]
            parts += [
                f"{self.oracle_threshold_title}:\n\n",
                combined_markdown(list(oracle.values()), footer=oracle_line),
                "\n",
            ]
        return "".join(parts).rstrip("\n") + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: environment, seeds, the three tables' aggregates
        (``summary``: configured; ``full_oracle_summary``; ``oracle_threshold_summary``)
        and per-seed reports (``"<variant>"``, ``"<variant> (full oracle)"``,
        ``"<variant> (oracle threshold)"``).
        """
        out: dict[str, Any] = {"environment": self.env, "seeds": self.seeds, "data": self.data}
        if self.summary is not None:
            out["summary"] = self.summary.to_dict()
        if self.full_oracle_summary is not None:
            out["full_oracle_summary"] = self.full_oracle_summary.to_dict()
        if self.oracle_summary is not None:
            out["oracle_threshold_summary"] = self.oracle_summary.to_dict()
        out["per_seed"] = {
            str(s): {v: r.to_dict() for v, r in self.per_seed[s].items()}
            | {
                f"{v} (full oracle)": points_dict(points)
                for v, points in self.per_seed_full_oracle.get(s, {}).items()
            }
            | {f"{v} (oracle threshold)": r.to_dict() for v, r in self.per_seed_oracle[s].items()}
            for s in self.seeds
        }
        return out

    def to_csv(self) -> str:
        """Per-seed values, means, standard deviations, unadjusted difference intervals and
        the AUC tests' raw and Holm-adjusted p-values of the three tables (CSV).
        """
        if self.summary is None or self.oracle_summary is None:
            return ""
        tables = {self.threshold: self.summary}
        if self.full_oracle_summary is not None:
            tables[FULL_ORACLE_CSV] = self.full_oracle_summary
        ckpt = checkpoint_name(self.checkpoint_policy)
        tables[f"oracle_target_eer (oracle threshold, {ckpt} checkpoint)"] = self.oracle_summary
        return summaries_csv(tables)


def combined_markdown(
    reports: Sequence[Report], digits: int = 2, *, footer: str | None = None
) -> str:
    """One paper-style table with a row per method (every report has the same tasks).

    Args:
        reports: one per method, with the same tasks and protocol.
        digits: decimals of the percentages.
        footer: the line after the table (default: the reports' protocol line).

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
    return "\n".join(lines) + "\n\n" + (line if footer is None else footer) + "\n"


def full_oracle_point(task: str, history: Sequence[Mapping[str, Any]]) -> TaskPoint:
    """The full oracle of one run: the evaluation of ``history`` that the
    ``oracle_best_target`` policy picks (lowest target HTER at the target EER threshold;
    ties: higher target AUC, then earliest), with its HTER at that threshold, AUC and EER.

    Args:
        task: the task's name.
        history: the run's per-evaluation summaries (keys ``step``, ``target_auc``,
            ``target_eer``, ``target_hter_oracle``, ``source_val_eer``, ``source_val_auc``).

    Returns:
        The point (no ACER: the history does not hold it).

    Raises:
        ValueError: an empty history.
        KeyError: a summary without one of those keys.
    """
    scores = [
        CheckpointScores(
            target_hter_oracle=float(h["target_hter_oracle"]),
            target_auc=float(h["target_auc"]),
            source_val_eer=h.get("source_val_eer"),
            source_val_auc=h.get("source_val_auc"),
        )
        for h in history
    ]
    best = history[select_index(scores, CheckpointPolicy.ORACLE_BEST_TARGET)]
    step = best.get("step")
    return TaskPoint(
        task,
        hter=float(best["target_hter_oracle"]),
        auc=float(best["target_auc"]),
        eer=float(best["target_eer"]),
        step=None if step is None else int(step),
    )


def assemble_result(
    records: Sequence[RunRecord],
    *,
    variants: Sequence[str],
    seeds: Sequence[int],
    threshold: str,
    checkpoint_policy: str,
    data: str,
    env: Mapping[str, Any],
    bootstrap_resamples: int = 1000,
    bootstrap_seed: int = 0,
) -> ProtocolResult:
    """Turn every run's record into per-seed reports and the summaries over seeds.

    Args:
        records: one record per (variant, task, seed), in any order.
        variants: the variants, in table order.
        seeds: the seeds, in run order (the first seed's reports are the single-run
            tables).
        threshold: the configured threshold strategy.
        checkpoint_policy: the configured checkpoint policy.
        data: ``"synthetic"`` or the data's path.
        env: what the results depend on beyond the configuration.
        bootstrap_resamples: resamples of the single-seed bootstrap.
        bootstrap_seed: its generator's seed.

    Returns:
        The :class:`ProtocolResult`: the configured table, the full oracle (each run's
        history) and the oracle threshold on the configured checkpoint.
    """
    seed_list = list(seeds)
    results: dict[int, dict[str, dict[str, EvaluationResult]]] = {
        s: {v: {} for v in variants} for s in seed_list
    }
    scores: dict[tuple[str, str], TargetScores] = {}
    oracle_scores: dict[tuple[str, str], TargetScores] = {}
    for rec in records:
        results[rec.seed][rec.variant][rec.task] = rec.result
        if rec.target_scores is not None and rec.seed == seed_list[0]:
            sc = rec.target_scores
            scores[(rec.variant, rec.task)] = sc
            oracle_scores[(rec.variant, rec.task)] = TargetScores(
                sc.scores, sc.labels, float(rec.result.oracle.threshold)
            )
    full: dict[int, dict[str, dict[str, TaskPoint]]] = {
        s: {v: {} for v in variants} for s in seed_list
    }
    for rec in records:
        full[rec.seed][rec.variant][rec.task] = full_oracle_point(rec.task, rec.history)
    per_seed_full = {
        s: {v: [full[s][v][t] for t in results[s][v]] for v in variants} for s in seed_list
    }
    per_seed: dict[int, dict[str, Report]] = {s: {} for s in seed_list}
    per_seed_oracle: dict[int, dict[str, Report]] = {s: {} for s in seed_list}
    for seed in seed_list:
        for variant in variants:
            per_seed[seed][variant] = Report.from_results(
                results[seed][variant],
                threshold_strategy=threshold,
                checkpoint_policy=checkpoint_policy,
                method=variant,
            )
            per_seed_oracle[seed][variant] = Report.from_results(
                results[seed][variant],
                threshold_strategy="oracle_target_eer",
                checkpoint_policy=checkpoint_policy,
                method=variant,
            )
    kw: dict[str, Any] = {"resamples": bootstrap_resamples, "bootstrap_seed": bootstrap_seed}
    single = len(seed_list) == 1
    return ProtocolResult(
        per_seed[seed_list[0]],
        per_seed_oracle[seed_list[0]],
        data,
        seeds=seed_list,
        per_seed=per_seed,
        per_seed_oracle=per_seed_oracle,
        summary=summarize_seeds(
            per_seed,
            scores=scores if single else None,
            title=main_title(threshold, checkpoint_policy),
            **kw,
        ),
        oracle_summary=summarize_seeds(
            per_seed_oracle,
            scores=oracle_scores if single else None,
            title=oracle_threshold_title(checkpoint_policy),
            protocol_line=oracle_threshold_line(checkpoint_policy),
            **kw,
        ),
        env={**env, "source validation held out by": _holdouts(records)},
        threshold=threshold,
        records=list(records),
        per_seed_full_oracle=per_seed_full,
        full_oracle_summary=summarize_points(
            per_seed_full,
            protocol_line=full_oracle_line(),
            title=FULL_ORACLE,
            row_suffix=" (full oracle)",
            **kw,
        ),
        checkpoint_policy=checkpoint_policy,
    )


def _holdouts(records: Sequence[RunRecord]) -> str:
    """How the runs' source-validation sets were held out, per task when they differ."""
    by_task: dict[str, str] = {}
    for rec in records:
        by_task.setdefault(rec.task, rec.source_val_split)
    kinds = set(by_task.values())
    if len(kinds) == 1:
        (kind,) = kinds
        return {"split": "the benchmark's dev split (other people)"}.get(kind, kind)
    return "; ".join(f"{task}: {kind}" for task, kind in by_task.items())
