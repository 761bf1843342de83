"""What a protocol run reports: per-run records assembled into per-seed reports, the
summaries over seeds, and the tables written to ``results.md``/``.csv``/``.json``.

:func:`~disentangle_fas.training.protocol.run_protocol` produces one :class:`RunRecord`
per (variant, task, seed) (in any order, possibly from worker processes) and calls
:func:`assemble_result`; everything printed or written is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from disentangle_fas.checkpoint import load_model
from disentangle_fas.contracts import LivenessModel
from disentangle_fas.metrics import EvaluationResult, Report, TaskMetrics
from disentangle_fas.training.protocol_stats import (
    SeedSummary,
    TargetScores,
    summaries_csv,
    summarize_seeds,
)

__all__ = ["ProtocolResult", "RunRecord", "assemble_result", "combined_markdown"]


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
        metrics: the reported row (threshold strategy and checkpoint policy named in it).
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
    metrics: TaskMetrics | None = None

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
            strategy and checkpoint policy (a published-style single run).
        oracle_reports: variant -> the first seed's report at the oracle threshold (target
            test EER), for comparison with published tables.
        data: what the models were trained and tested on.
        seeds: the seeds, in run order.
        per_seed: seed -> variant -> report (configured threshold).
        per_seed_oracle: seed -> variant -> report (oracle threshold).
        summary: mean ± std and paired differences at the configured threshold.
        oracle_summary: the same at the oracle threshold.
        env: torch version, device, thread count and platform of the run.
        threshold: the configured threshold strategy.
        runs: (variant, task) -> the first seed's :class:`RunRecord`.
        records: every run's record, in run order.
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
    runs: dict[tuple[str, str], RunRecord] = field(default_factory=dict)
    records: list[RunRecord] = field(default_factory=list)

    def to_markdown(self) -> str:
        """The aggregate tables over seeds, then every seed's single-run tables; each
        table is followed by the line naming its threshold and checkpoint choice.
        """
        what = "the built-in synthetic benchmark" if self.data == "synthetic" else self.data
        head = f"Data: {what}. HTER and AUC in %, scores averaged per video.\n\n"
        if self.env:
            head += "Run: " + ", ".join(f"{k} {v}" for k, v in self.env.items()) + ".\n\n"
        parts = [head]
        if self.summary is not None and self.oracle_summary is not None:
            parts += [self.summary.to_markdown(), "\n", self.oracle_summary.to_markdown(), "\n"]
        seeds: list[int | None] = list(self.seeds) or [None]
        for seed in seeds:
            honest = self.reports if seed is None else self.per_seed[seed]
            oracle = self.oracle_reports if seed is None else self.per_seed_oracle[seed]
            if seed is not None and len(seeds) > 1:
                parts.append(f"Seed {seed}:\n\n")
            parts += [
                combined_markdown(list(honest.values())),
                "\n",
                combined_markdown(list(oracle.values())),
                "\n",
            ]
        return "".join(parts).rstrip("\n") + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: environment, seeds, aggregates and per-seed reports."""
        out: dict[str, Any] = {"environment": self.env, "seeds": self.seeds, "data": self.data}
        if self.summary is not None and self.oracle_summary is not None:
            out["summary"] = self.summary.to_dict()
            out["oracle_summary"] = self.oracle_summary.to_dict()
        out["per_seed"] = {
            str(s): {v: r.to_dict() for v, r in self.per_seed[s].items()}
            | {f"{v} (oracle threshold)": r.to_dict() for v, r in self.per_seed_oracle[s].items()}
            for s in self.seeds
        }
        return out

    def to_csv(self) -> str:
        """Per-seed values, means, standard deviations and difference intervals (CSV)."""
        if self.summary is None or self.oracle_summary is None:
            return ""
        return summaries_csv(
            {
                self.threshold: self.summary,
                "oracle_target_eer (oracle)": self.oracle_summary,
            }
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
        The :class:`ProtocolResult`.
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
        summary=summarize_seeds(per_seed, scores=scores if single else None, **kw),
        oracle_summary=summarize_seeds(
            per_seed_oracle, scores=oracle_scores if single else None, **kw
        ),
        env=dict(env),
        threshold=threshold,
        runs={(r.variant, r.task): r for r in records if r.seed == seed_list[0]},
        records=list(records),
    )
