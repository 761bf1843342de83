"""The records of a protocol's statistics and how they are written: per-seed values of
one (task, variant), paired comparisons, and the summary of one table (markdown, CSV,
JSON and the one-line summary). :mod:`~disentangle_fas.training.protocol_stats` computes
them.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics import Interval, MeanStd, TaskMetrics, mean_std

__all__ = [
    "CellStats",
    "PairStats",
    "SeedSummary",
    "TargetScores",
    "TaskPoint",
    "counted",
    "summaries_csv",
]


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
class TaskPoint:
    """What one run reports on one task (fractions).

    Attributes:
        task: task name.
        hter: HTER at the table's threshold.
        auc: target AUC.
        eer: target EER.
        acer: ACER at the table's threshold, or ``None`` when not measured.
        step: the reported checkpoint's step, if known.
    """

    task: str
    hter: float
    auc: float
    eer: float
    acer: float | None = None
    step: int | None = None

    @classmethod
    def from_metrics(cls, row: TaskMetrics) -> TaskPoint:
        """The point of one report row."""
        return cls(row.task, row.hter, row.auc, row.eer, row.acer, row.checkpoint)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {
            "task": self.task,
            "step": self.step,
            "hter": self.hter,
            "auc": self.auc,
            "eer": self.eer,
            "acer": self.acer,
        }


@dataclass(frozen=True)
class CellStats:
    """One (task, variant): per-seed values and their mean ± std (fractions).

    Attributes:
        task: task name.
        variant: variant or method name.
        hter: per-seed HTER, in seed order.
        auc: per-seed AUC.
        hter_interval: single seed only: bootstrap interval of the HTER over target videos.
        eer: per-seed EER (``None``: not given).
        acer: per-seed ACER (``None``: not measured for this table).
        steps: per-seed step of the reported checkpoint (``None``: not given).
    """

    task: str
    variant: str
    hter: list[float]
    auc: list[float]
    hter_interval: Interval | None = None
    eer: list[float] | None = None
    acer: list[float] | None = None
    steps: list[int | None] | None = None

    @property
    def hter_stats(self) -> MeanStd:
        """Mean ± std of :attr:`hter`."""
        return mean_std(self.hter)

    @property
    def auc_stats(self) -> MeanStd:
        """Mean ± std of :attr:`auc`."""
        return mean_std(self.auc)

    @property
    def eer_stats(self) -> MeanStd | None:
        """Mean ± std of :attr:`eer`, if given."""
        return None if self.eer is None else mean_std(self.eer)

    @property
    def acer_stats(self) -> MeanStd | None:
        """Mean ± std of :attr:`acer`, if measured."""
        return None if self.acer is None else mean_std(self.acer)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: per-seed values, their mean ± std, the interval if any."""
        eer, acer = self.eer_stats, self.acer_stats
        return {
            "task": self.task,
            "variant": self.variant,
            "hter_per_seed": self.hter,
            "auc_per_seed": self.auc,
            "hter": self.hter_stats.to_dict(),
            "auc": self.auc_stats.to_dict(),
            "hter_interval": None if self.hter_interval is None else self.hter_interval.to_dict(),
            "eer_per_seed": self.eer,
            "acer_per_seed": self.acer,
            "eer": None if eer is None else eer.to_dict(),
            "acer": None if acer is None else acer.to_dict(),
            "step_per_seed": self.steps,
        }


@dataclass(frozen=True)
class PairStats:
    """The difference ``a - b`` of two variants on one task (fractions).

    Attributes:
        task: task name.
        a: first variant.
        b: second variant.
        hter: unadjusted interval of the HTER difference (negative: ``a`` errs less).
        auc: unadjusted interval of the AUC difference (positive: ``a`` ranks better).
        hter_per_seed: per-seed HTER differences.
        auc_per_seed: per-seed AUC differences.
        auc_p: two-sided p-value of the AUC difference (primary endpoint); ``nan`` when
            undefined (one seed and nothing to resample, or no spread).
        auc_p_holm: :attr:`auc_p` Holm-adjusted over the summary's family; ``nan`` when
            :attr:`auc_p` is (the adjustment counts it as 1).
    """

    task: str
    a: str
    b: str
    hter: Interval
    auc: Interval
    hter_per_seed: list[float]
    auc_per_seed: list[float]
    auc_p: float = math.nan
    auc_p_holm: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: the two variants, per-seed differences, their unadjusted
        intervals (``significant`` there: the interval alone excludes 0), and the AUC
        test's raw and Holm-adjusted p-values (``None`` when undefined).
        """
        per_seed = {
            "hter_diff_per_seed": self.hter_per_seed,
            "auc_diff_per_seed": self.auc_per_seed,
        }
        intervals = {"hter_diff": self.hter.to_dict(), "auc_diff": self.auc.to_dict()}
        tests = {"auc_p": _num(self.auc_p), "auc_p_holm": _num(self.auc_p_holm)}
        return {"task": self.task, "a": self.a, "b": self.b, **per_seed, **intervals, **tests}


@dataclass
class SeedSummary:
    """Everything one table's protocol reports over seeds.

    Attributes:
        seeds: the seeds, in run order.
        protocol_line: the line naming how threshold and checkpoint were chosen.
        cells: one per (task, variant), tasks in run order.
        pairs: one per task and pair of variants.
        title: what the table is (e.g. ``"Honest"``), shown before it.
        test: how the AUC differences were tested, e.g. ``"paired t-test over 3 seeds"``.
        confidence: the intervals' coverage; ``1 - confidence`` is the level the
            Holm-adjusted p-values are compared with.
        row_suffix: appended to every variant's name in the mean ± std table.
    """

    seeds: list[int]
    protocol_line: str
    cells: list[CellStats] = field(default_factory=list)
    pairs: list[PairStats] = field(default_factory=list)
    title: str = ""
    test: str = ""
    confidence: float = 0.95
    row_suffix: str = ""

    @property
    def alpha(self) -> float:
        """The significance level of the Holm-adjusted p-values, ``1 - confidence``."""
        return round(1.0 - self.confidence, 12)

    def significant(self, pair: PairStats) -> bool:
        """Whether the AUC difference of ``pair`` is significant after Holm's correction."""
        return not math.isnan(pair.auc_p_holm) and pair.auc_p_holm < self.alpha

    def family(self) -> str:
        """The family of AUC comparisons, e.g. ``"4 tasks x 1 comparison (full - baseline)"``."""
        tasks = list(dict.fromkeys(p.task for p in self.pairs))
        comparisons = list(dict.fromkeys(f"{p.a} - {p.b}" for p in self.pairs))
        return (
            f"{counted(len(tasks), 'task')} x {counted(len(comparisons), 'comparison')} "
            f"({', '.join(comparisons)})"
        )

    def to_markdown(self) -> str:
        """Mean ± std table, the paired-difference table and the summary line."""
        n = len(self.seeds)
        tasks = list(dict.fromkeys(c.task for c in self.cells))
        variants = list(dict.fromkeys(c.variant for c in self.cells))
        by = {(c.task, c.variant): c for c in self.cells}
        what = f"mean ± std over {n} seeds" if n > 1 else "one seed"
        if n == 1 and any(c.hter_interval is not None for c in self.cells):
            what += f", HTER with its {100 * self.confidence:g} % bootstrap interval"
        header = ["Method"] + [f"{t} {m}" for t in tasks for m in ("HTER (%)", "AUC (%)")]
        lead = f"**{self.title}**: " if self.title else ""
        lines = [
            f"{lead}HTER and AUC in %, {what} ({_seed_text(self.seeds)}).",
            "",
            "| " + " | ".join(header) + " |",
            "| --- |" + " ---: |" * (len(header) - 1),
        ]
        for v in variants:
            cells = [v + self.row_suffix]
            for t in tasks:
                c = by[(t, v)]
                cells += [_cell_hter(c), _pm(c.auc_stats)]
            lines.append("| " + " | ".join(cells) + " |")
        if self.pairs:
            level = f"{100 * self.confidence:g} %"
            if all(math.isnan(p.auc_p) for p in self.pairs):
                caption = (
                    "Paired differences (percentage points). AUC is the primary endpoint; no "
                    f"p-values ({self.test}). Intervals, where shown, are unadjusted."
                )
            else:
                caption = (
                    "Paired differences (percentage points). AUC is the primary endpoint: "
                    f"{self.test}, p-values Holm-adjusted over the family of {self.family()}; "
                    f"* = Holm-adjusted p < {self.alpha:g}. The {level} intervals are "
                    "unadjusted (one comparison each); ΔHTER is secondary and not tested."
                )
            lines += [
                "",
                caption,
                "",
                f"| Task | Difference | ΔAUC | {level} CI (unadjusted) | p | Holm p | ΔHTER "
                f"| {level} CI (unadjusted) |",
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            ]
            for p in self.pairs:
                star = "*" if self.significant(p) else ""
                lines.append(
                    f"| {p.task} | {p.a} − {p.b} | {100 * p.auc.estimate:+.2f}{star} | "
                    f"{_ci(p.auc)} | {_p(p.auc_p)} | {_p(p.auc_p_holm)} | "
                    f"{100 * p.hter.estimate:+.2f} | {_ci(p.hter)} |"
                )
        lines += ["", self.protocol_line, "", self.summary_line()]
        return "\n".join(lines) + "\n"

    def summary_line(self) -> str:
        """One line: which table (its :attr:`title` up to any parenthesis), the family, the
        test, the correction, and the AUC differences whose Holm-adjusted p-value is below
        :attr:`alpha`, with their direction (or that there is none).
        """
        name = self.title.split(" (")[0].strip().lower()
        label = f"Summary ({name})" if name else "Summary"
        if not self.pairs:
            return f"{label}: one variant only: no differences to test."
        family = f"{label}: AUC (primary endpoint), family: {self.family()}"
        several = len({(p.a, p.b) for p in self.pairs}) > 1
        undefined = [p for p in self.pairs if math.isnan(p.auc_p)]
        if len(undefined) == len(self.pairs):
            return (
                f"{family}: no p-values ({self.test}), nothing tested; "
                "the intervals shown are unadjusted."
            )
        head = f"{family}, {self.test}, Holm-adjusted"
        sig = [p for p in self.pairs if self.significant(p)]
        if not sig:
            text = f"{head}: no significant difference after Holm's correction"
        else:
            groups = []
            for (a, b), group in itertools.groupby(sig, key=lambda p: (p.a, p.b)):
                items = [
                    f"{'higher' if p.auc.estimate > 0 else 'lower'} on {p.task} "
                    f"({100 * p.auc.estimate:+.1f} points, Holm p {_p_is(p.auc_p_holm)})"
                    for p in group
                ]
                groups.append(f"{a} - {b} AUC " + ", ".join(items))
            rest = len(self.pairs) - len(sig)
            tail = f"; no significant difference on the other {rest}" if rest else ""
            text = f"{head} p < {self.alpha:g}: " + "; ".join(groups) + tail
        if undefined:
            where = ", ".join(f"{p.task} ({p.a} - {p.b})" if several else p.task for p in undefined)
            text += f"; p undefined on {where} (counted as 1)"
        return text + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with the per-seed values, aggregates, intervals and tests."""
        return {
            "table": self.title,
            "seeds": self.seeds,
            "protocol": self.protocol_line,
            "primary_endpoint": "auc",
            "test": self.test,
            "correction": "holm",
            "family": self.family() if self.pairs else None,
            "alpha": self.alpha,
            "intervals": "unadjusted",
            "cells": [c.to_dict() for c in self.cells],
            "pairs": [p.to_dict() for p in self.pairs],
            "summary": self.summary_line(),
        }

    def csv_rows(self, strategy: str) -> list[list[Any]]:
        """Rows ``strategy, row, task, seed, hter, auc, eer, acer`` (fractions): one per
        seed, then ``mean`` / ``std`` per cell; per difference one per seed, ``mean``,
        ``ci_low`` / ``ci_high`` (unadjusted) and the AUC test's ``p`` and ``p_holm`` (in
        the ``auc`` column). A metric that was not measured is empty.
        """
        rows: list[list[Any]] = []
        for c in self.cells:
            n = len(self.seeds)
            eer: list[Any] = [""] * n if c.eer is None else list(c.eer)
            acer: list[Any] = [""] * n if c.acer is None else list(c.acer)
            for s, h, a, e, r in zip(self.seeds, c.hter, c.auc, eer, acer, strict=True):
                rows.append([strategy, c.variant, c.task, s, h, a, e, r])
            hs, as_, es, rs = c.hter_stats, c.auc_stats, c.eer_stats, c.acer_stats
            rows.append(
                [strategy, c.variant, c.task, "mean", hs.mean, as_.mean, _mean(es), _mean(rs)]
            )
            rows.append([strategy, c.variant, c.task, "std", hs.std, as_.std, _std(es), _std(rs)])
        for p in self.pairs:
            name = f"{p.a} - {p.b}"
            for s, h, a in zip(self.seeds, p.hter_per_seed, p.auc_per_seed, strict=True):
                rows.append([strategy, name, p.task, s, h, a, "", ""])
            rows.append([strategy, name, p.task, "mean", p.hter.estimate, p.auc.estimate, "", ""])
            rows.append([strategy, name, p.task, "ci_low", p.hter.low, p.auc.low, "", ""])
            rows.append([strategy, name, p.task, "ci_high", p.hter.high, p.auc.high, "", ""])
            rows.append([strategy, name, p.task, "p", "", p.auc_p, "", ""])
            rows.append([strategy, name, p.task, "p_holm", "", p.auc_p_holm, "", ""])
        return rows


def summaries_csv(summaries: Mapping[str, SeedSummary]) -> str:
    """CSV of several tables' :meth:`SeedSummary.csv_rows`, with a header (the first
    column names the table's threshold strategy and checkpoint choice).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["threshold_strategy", "row", "task", "seed", "hter", "auc", "eer", "acer"])
    for strategy, summary in summaries.items():
        writer.writerows(summary.csv_rows(strategy))
    return buf.getvalue()


def _pm(m: MeanStd) -> str:
    if m.n == 1:
        return f"{100 * m.mean:.2f}"
    return f"{100 * m.mean:.2f} ± {100 * m.std:.2f}"


def _cell_hter(c: CellStats) -> str:
    if c.hter_interval is not None:
        iv = c.hter_interval
        return f"{100 * iv.estimate:.2f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}]"
    return _pm(c.hter_stats)


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def counted(n: int, noun: str) -> str:
    """``"1 seed"``, ``"3 seeds"``: ``n`` and ``noun``, plural unless ``n`` is 1."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _mean(m: MeanStd | None) -> float | str:
    return "" if m is None else m.mean


def _std(m: MeanStd | None) -> float | str:
    return "" if m is None else m.std


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _p_is(p: float) -> str:
    text = _p(p)
    return text if text.startswith("<") else f"= {text}"


def _ci(iv: Interval) -> str:
    if iv.method == "none":
        return "n/a"
    return f"[{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]"


def _seed_text(seeds: Sequence[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(str(s) for s in seeds)
