"""Per-seed protocol results turned into mean ± std per (task, variant) and paired
differences between variants with 95 % intervals.

With several seeds the interval of a difference is a t-interval over the per-seed paired
differences (a seed fixes initialisation and batch order; the data is the same for every
seed). With one seed it is a stratified bootstrap over the target videos, with each
model's threshold held fixed. A difference whose interval contains 0 is reported as not
significant.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics import (
    Interval,
    MeanStd,
    Report,
    bootstrap_interval,
    mean_std,
    paired_difference,
)
from disentangle_fas.metrics.roc import _auc, _counts

__all__ = ["CellStats", "PairStats", "SeedSummary", "TargetScores", "summarize_seeds"]


@dataclass(frozen=True)
class TargetScores:
    """Video-level target scores of one run's chosen checkpoint (for the bootstrap).

    Attributes:
        scores: ``(V,)`` P(live) per video.
        labels: ``(V,)`` 1 live, 0 spoof.
        threshold: the run's reported threshold (held fixed in every resample).
    """

    scores: NDArray[np.float64]
    labels: NDArray[np.int64]
    threshold: float


@dataclass(frozen=True)
class CellStats:
    """One (task, variant): per-seed values and their mean ± std (fractions).

    Attributes:
        task: task name.
        variant: variant or method name.
        hter: per-seed HTER, in seed order.
        auc: per-seed AUC.
        hter_interval: single seed only: bootstrap interval of the HTER over target videos.
    """

    task: str
    variant: str
    hter: list[float]
    auc: list[float]
    hter_interval: Interval | None = None

    @property
    def hter_stats(self) -> MeanStd:
        """Mean ± std of :attr:`hter`."""
        return mean_std(self.hter)

    @property
    def auc_stats(self) -> MeanStd:
        """Mean ± std of :attr:`auc`."""
        return mean_std(self.auc)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: per-seed values, their mean ± std, the interval if any."""
        return {
            "task": self.task,
            "variant": self.variant,
            "hter_per_seed": self.hter,
            "auc_per_seed": self.auc,
            "hter": self.hter_stats.to_dict(),
            "auc": self.auc_stats.to_dict(),
            "hter_interval": None if self.hter_interval is None else self.hter_interval.to_dict(),
        }


@dataclass(frozen=True)
class PairStats:
    """The difference ``a - b`` of two variants on one task (fractions).

    Attributes:
        task: task name.
        a: first variant.
        b: second variant.
        hter: interval of the HTER difference (negative: ``a`` errs less).
        auc: interval of the AUC difference (positive: ``a`` ranks better).
        hter_per_seed: per-seed HTER differences.
        auc_per_seed: per-seed AUC differences.
    """

    task: str
    a: str
    b: str
    hter: Interval
    auc: Interval
    hter_per_seed: list[float]
    auc_per_seed: list[float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: the two variants, per-seed differences, their intervals."""
        per_seed = {
            "hter_diff_per_seed": self.hter_per_seed,
            "auc_diff_per_seed": self.auc_per_seed,
        }
        intervals = {"hter_diff": self.hter.to_dict(), "auc_diff": self.auc.to_dict()}
        return {"task": self.task, "a": self.a, "b": self.b, **per_seed, **intervals}


@dataclass
class SeedSummary:
    """Everything one threshold strategy's tables report over seeds.

    Attributes:
        seeds: the seeds, in run order.
        protocol_line: the reports' line naming threshold strategy and checkpoint policy.
        cells: one per (task, variant), tasks in run order.
        pairs: one per task and pair of variants.
    """

    seeds: list[int]
    protocol_line: str
    cells: list[CellStats] = field(default_factory=list)
    pairs: list[PairStats] = field(default_factory=list)

    def to_markdown(self) -> str:
        """Mean ± std table, the paired-difference table and the summary line."""
        n = len(self.seeds)
        tasks = list(dict.fromkeys(c.task for c in self.cells))
        variants = list(dict.fromkeys(c.variant for c in self.cells))
        by = {(c.task, c.variant): c for c in self.cells}
        what = f"mean ± std over {n} seeds" if n > 1 else "one seed, 95 % bootstrap interval"
        header = ["Method"] + [f"{t} {m}" for t in tasks for m in ("HTER (%)", "AUC (%)")]
        lines = [
            f"HTER and AUC in %, {what} (seeds {_seed_text(self.seeds)}).",
            "",
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
        ]
        for v in variants:
            cells = [v]
            for t in tasks:
                c = by[(t, v)]
                cells += [_cell_hter(c), _pm(c.auc_stats)]
            lines.append("| " + " | ".join(cells) + " |")
        if self.pairs:
            kind = "t-interval over seeds" if n > 1 else "stratified bootstrap over videos"
            lines += [
                "",
                f"Paired differences (percentage points, 95 % {kind}; * = interval excludes 0):",
                "",
                "| Task | Difference | ΔHTER | 95 % CI | ΔAUC | 95 % CI |",
                "| --- | --- | ---: | ---: | ---: | ---: |",
            ]
            for p in self.pairs:
                lines.append(
                    f"| {p.task} | {p.a} − {p.b} | {_star(p.hter)} | {_ci(p.hter)} | "
                    f"{_star(p.auc)} | {_ci(p.auc)} |"
                )
        lines += ["", self.protocol_line, "", self.summary_line()]
        return "\n".join(lines) + "\n"

    def summary_line(self) -> str:
        """One sentence naming the task differences whose HTER interval excludes 0."""
        if not self.pairs:
            return "One variant only: no differences to test."
        parts = []
        for (a, b), group in itertools.groupby(self.pairs, key=lambda p: (p.a, p.b)):
            pairs = list(group)
            better = [
                f"{p.task} ({100 * p.hter.estimate:+.1f})" for p in pairs if p.hter.significant
            ]
            rest = [p.task for p in pairs if not p.hter.significant]
            sig = ", ".join(better) if better else "no task"
            tail = f"; not significant on {', '.join(rest)}" if rest else ""
            parts.append(f"{a} vs {b}: HTER difference significant at 95 % on {sig}{tail}")
        return "Summary: " + ". ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with the per-seed values, aggregates and intervals."""
        return {
            "seeds": self.seeds,
            "protocol": self.protocol_line,
            "cells": [c.to_dict() for c in self.cells],
            "pairs": [p.to_dict() for p in self.pairs],
            "summary": self.summary_line(),
        }

    def csv_rows(self, strategy: str) -> list[list[Any]]:
        """Rows ``strategy, row, task, seed, hter, auc`` (fractions): one per seed, then
        ``mean`` / ``std`` per cell and ``mean`` / ``ci_low`` / ``ci_high`` per difference.
        """
        rows: list[list[Any]] = []
        for c in self.cells:
            for s, h, a in zip(self.seeds, c.hter, c.auc, strict=True):
                rows.append([strategy, c.variant, c.task, s, h, a])
            hs, as_ = c.hter_stats, c.auc_stats
            rows.append([strategy, c.variant, c.task, "mean", hs.mean, as_.mean])
            rows.append([strategy, c.variant, c.task, "std", hs.std, as_.std])
        for p in self.pairs:
            name = f"{p.a} - {p.b}"
            for s, h, a in zip(self.seeds, p.hter_per_seed, p.auc_per_seed, strict=True):
                rows.append([strategy, name, p.task, s, h, a])
            rows.append([strategy, name, p.task, "mean", p.hter.estimate, p.auc.estimate])
            rows.append([strategy, name, p.task, "ci_low", p.hter.low, p.auc.low])
            rows.append([strategy, name, p.task, "ci_high", p.hter.high, p.auc.high])
        return rows


def summaries_csv(summaries: Mapping[str, SeedSummary]) -> str:
    """CSV of several strategies' :meth:`SeedSummary.csv_rows`, with a header."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["threshold_strategy", "row", "task", "seed", "hter", "auc"])
    for strategy, summary in summaries.items():
        writer.writerows(summary.csv_rows(strategy))
    return buf.getvalue()


def summarize_seeds(
    per_seed: Mapping[int, Mapping[str, Report]],
    *,
    scores: Mapping[tuple[str, str], TargetScores] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    bootstrap_seed: int = 0,
) -> SeedSummary:
    """Aggregate the per-seed reports of one threshold strategy.

    Args:
        per_seed: seed -> variant -> report (every report with the same tasks and protocol).
        scores: single seed only: (variant, task) -> target scores for the bootstrap; pairs
            are bootstrapped only where both variants scored the same videos.
        resamples: bootstrap resamples.
        confidence: interval coverage.
        bootstrap_seed: seed of the bootstrap generator.

    Returns:
        The :class:`SeedSummary`.

    Raises:
        ValueError: no seeds, or seeds with different variants or tasks.
    """
    seeds = list(per_seed)
    if not seeds:
        raise ValueError("no seeds to summarise")
    first = per_seed[seeds[0]]
    variants = list(first)
    tasks = [t.task for t in first[variants[0]].tasks]
    for s in seeds:
        if list(per_seed[s]) != variants or any(
            [t.task for t in per_seed[s][v].tasks] != tasks for v in variants
        ):
            raise ValueError(f"seed {s} has different variants or tasks than seed {seeds[0]}")
    rows = {
        (t, v): [next(m for m in per_seed[s][v].tasks if m.task == t) for s in seeds]
        for t in tasks
        for v in variants
    }
    boot = scores if len(seeds) == 1 and scores else {}
    out = SeedSummary(seeds, first[variants[0]].protocol_line())
    for t in tasks:
        for v in variants:
            ms = rows[(t, v)]
            interval = None
            if (v, t) in boot:
                sc = boot[(v, t)]
                interval = bootstrap_interval(
                    _of(_hter, sc),
                    sc.labels,
                    resamples=resamples,
                    confidence=confidence,
                    seed=bootstrap_seed,
                )
            out.cells.append(CellStats(t, v, [m.hter for m in ms], [m.auc for m in ms], interval))
        for a, b in itertools.combinations(variants, 2):
            ha = np.array([m.hter for m in rows[(t, a)]])
            hb = np.array([m.hter for m in rows[(t, b)]])
            aa = np.array([m.auc for m in rows[(t, a)]])
            ab = np.array([m.auc for m in rows[(t, b)]])
            if len(seeds) > 1:
                hi, ai = (
                    paired_difference(ha, hb, confidence),
                    paired_difference(aa, ab, confidence),
                )
            elif (a, t) in boot and (b, t) in boot and _same_items(boot[(a, t)], boot[(b, t)]):
                sa, sb = boot[(a, t)], boot[(b, t)]
                kw: dict[str, Any] = {
                    "resamples": resamples,
                    "confidence": confidence,
                    "seed": bootstrap_seed,
                }
                hi = bootstrap_interval(_diff(_hter, sa, sb), sa.labels, **kw)
                ai = bootstrap_interval(_diff(_auc_of, sa, sb), sa.labels, **kw)
            else:
                hi, ai = (
                    paired_difference(ha, hb, confidence),
                    paired_difference(aa, ab, confidence),
                )
            out.pairs.append(PairStats(t, a, b, hi, ai, (ha - hb).tolist(), (aa - ab).tolist()))
    out.pairs.sort(key=lambda p: (variants.index(p.a), variants.index(p.b)))
    return out


def _diff(
    stat: Callable[[TargetScores, NDArray[np.int64]], float], a: TargetScores, b: TargetScores
) -> Callable[[NDArray[np.int64]], float]:
    return lambda idx: stat(a, idx) - stat(b, idx)


def _of(
    stat: Callable[[TargetScores, NDArray[np.int64]], float], a: TargetScores
) -> Callable[[NDArray[np.int64]], float]:
    return lambda idx: stat(a, idx)


def _same_items(a: TargetScores, b: TargetScores) -> bool:
    return a.labels.shape == b.labels.shape and bool(np.array_equal(a.labels, b.labels))


def _hter(sc: TargetScores, idx: NDArray[np.int64]) -> float:
    s, y = sc.scores[idx], sc.labels[idx]
    accepted = s >= sc.threshold
    return float((accepted[y == 0].mean() + (~accepted[y == 1]).mean()) / 2.0)


def _auc_of(sc: TargetScores, idx: NDArray[np.int64]) -> float:
    return _auc(_counts(sc.scores[idx], sc.labels[idx]))


def _pm(m: MeanStd) -> str:
    if m.n == 1:
        return f"{100 * m.mean:.2f}"
    return f"{100 * m.mean:.2f} ± {100 * m.std:.2f}"


def _cell_hter(c: CellStats) -> str:
    if c.hter_interval is not None:
        iv = c.hter_interval
        return f"{100 * iv.estimate:.2f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}]"
    return _pm(c.hter_stats)


def _ci(iv: Interval) -> str:
    if iv.method == "none":
        return "n/a"
    return f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]"


def _star(iv: Interval) -> str:
    return f"{100 * iv.estimate:+.2f}" + ("*" if iv.significant else "")


def _seed_text(seeds: Sequence[int]) -> str:
    return ", ".join(str(s) for s in seeds)
