"""Per-seed protocol results turned into mean ± std per (task, variant) and tests of the
paired differences between variants.

AUC is the primary endpoint (threshold-free): for every task and pair of variants the
per-seed AUC difference is tested, and the p-values are Holm-adjusted over that family
(every task times every compared pair). With several seeds the test is a paired t-test
over seeds (seed ``s`` draws the data and initialises the model, so a seed pairs the
variants' runs); with one seed it is a stratified bootstrap over the target videos, with
each model's threshold held fixed. The 95 % intervals (of the AUC and the HTER
differences) are unadjusted, one comparison each; HTER, EER and ACER are reported, not
tested.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics import (
    Report,
    bootstrap_interval,
    bootstrap_test,
    holm_adjust,
    paired_difference,
    paired_t_test,
)
from disentangle_fas.metrics.roc import _auc, _counts
from disentangle_fas.training.protocol_summary import (
    CellStats,
    PairStats,
    SeedSummary,
    TargetScores,
    TaskPoint,
    summaries_csv,
)

__all__ = [
    "CellStats",
    "PairStats",
    "SeedSummary",
    "TargetScores",
    "TaskPoint",
    "summaries_csv",
    "summarize_points",
    "summarize_seeds",
]


def summarize_seeds(
    per_seed: Mapping[int, Mapping[str, Report]],
    *,
    scores: Mapping[tuple[str, str], TargetScores] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    bootstrap_seed: int = 0,
    title: str = "",
    protocol_line: str | None = None,
) -> SeedSummary:
    """Aggregate the per-seed reports of one threshold strategy and checkpoint policy.

    Args:
        per_seed: seed -> variant -> report (every report with the same tasks and protocol).
        scores: single seed only: (variant, task) -> target scores for the bootstrap; pairs
            are bootstrapped only where both variants scored the same videos.
        resamples: bootstrap resamples.
        confidence: interval coverage; ``1 - confidence`` is the tests' level.
        bootstrap_seed: seed of the bootstrap generator.
        title: what the table is.
        protocol_line: the line naming threshold and checkpoint choice (default: the
            reports' own).

    Returns:
        The :class:`SeedSummary`.

    Raises:
        ValueError: no seeds, or seeds with different variants or tasks.
    """
    points = {  # summarize_points checks that every seed has the same variants and tasks
        s: {v: [TaskPoint.from_metrics(m) for m in rep.tasks] for v, rep in reports.items()}
        for s, reports in per_seed.items()
    }
    return summarize_points(
        points,
        protocol_line=_first_report(per_seed).protocol_line()
        if protocol_line is None
        else protocol_line,
        scores=scores,
        resamples=resamples,
        confidence=confidence,
        bootstrap_seed=bootstrap_seed,
        title=title,
    )


def _first_report(per_seed: Mapping[int, Mapping[str, Report]]) -> Report:
    """The first seed's first report (its protocol line names every report's).

    Raises:
        ValueError: no seeds, or a seed without reports.
    """
    for reports in per_seed.values():
        for report in reports.values():
            return report
        break
    raise ValueError("no seeds to summarise")


def summarize_points(
    per_seed: Mapping[int, Mapping[str, Sequence[TaskPoint]]],
    *,
    protocol_line: str,
    scores: Mapping[tuple[str, str], TargetScores] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    bootstrap_seed: int = 0,
    title: str = "",
    row_suffix: str = "",
) -> SeedSummary:
    """Aggregate per-seed task points of one table (see :func:`summarize_seeds`).

    Args:
        per_seed: seed -> variant -> one point per task (same variants and tasks, in the
            same order, for every seed).
        protocol_line: the line naming threshold and checkpoint choice.
        scores: single seed only: (variant, task) -> target scores for the bootstrap.
        resamples: bootstrap resamples.
        confidence: interval coverage; ``1 - confidence`` is the tests' level.
        bootstrap_seed: seed of the bootstrap generator.
        title: what the table is.
        row_suffix: appended to every variant's name in the mean ± std table.

    Returns:
        The :class:`SeedSummary`, its AUC p-values Holm-adjusted over every (task, pair).

    Raises:
        ValueError: no seeds, or seeds with different variants or tasks.
    """
    seeds = list(per_seed)
    if not seeds:
        raise ValueError("no seeds to summarise")
    first = per_seed[seeds[0]]
    variants = list(first)
    tasks = [t.task for t in first[variants[0]]]
    for s in seeds:
        if list(per_seed[s]) != variants or any(
            [t.task for t in per_seed[s][v]] != tasks for v in variants
        ):
            raise ValueError(f"seed {s} has different variants or tasks than seed {seeds[0]}")
    rows = {
        (t, v): [next(m for m in per_seed[s][v] if m.task == t) for s in seeds]
        for t in tasks
        for v in variants
    }
    boot = scores if len(seeds) == 1 and scores else {}
    out = SeedSummary(
        seeds, protocol_line, title=title, confidence=confidence, row_suffix=row_suffix
    )
    bootstrapped = False
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
            acer = [m.acer for m in ms]
            out.cells.append(
                CellStats(
                    t,
                    v,
                    [m.hter for m in ms],
                    [m.auc for m in ms],
                    interval,
                    eer=[m.eer for m in ms],
                    acer=None
                    if any(x is None for x in acer)
                    else [float(x) for x in acer if x is not None],
                    steps=[m.step for m in ms],
                )
            )
        for a, b in itertools.combinations(variants, 2):
            ha = np.array([m.hter for m in rows[(t, a)]])
            hb = np.array([m.hter for m in rows[(t, b)]])
            aa = np.array([m.auc for m in rows[(t, a)]])
            ab = np.array([m.auc for m in rows[(t, b)]])
            if (
                len(seeds) == 1
                and (a, t) in boot
                and (b, t) in boot
                and _same_items(boot[(a, t)], boot[(b, t)])
            ):
                sa, sb = boot[(a, t)], boot[(b, t)]
                kw: dict[str, Any] = {
                    "resamples": resamples,
                    "confidence": confidence,
                    "seed": bootstrap_seed,
                }
                hi = bootstrap_interval(_diff(_hter, sa, sb), sa.labels, **kw)
                ai, p = bootstrap_test(_diff(_auc_of, sa, sb), sa.labels, **kw)
                bootstrapped = True
            else:
                hi, ai = (
                    paired_difference(ha, hb, confidence),
                    paired_difference(aa, ab, confidence),
                )
                p = paired_t_test(aa, ab)
            out.pairs.append(
                PairStats(t, a, b, hi, ai, (ha - hb).tolist(), (aa - ab).tolist(), auc_p=p)
            )
    out.pairs.sort(key=lambda p: (variants.index(p.a), variants.index(p.b)))
    adjusted = holm_adjust([1.0 if math.isnan(p.auc_p) else p.auc_p for p in out.pairs])
    out.pairs = [
        replace(p, auc_p_holm=math.nan if math.isnan(p.auc_p) else q)
        for p, q in zip(out.pairs, adjusted, strict=True)
    ]
    if len(seeds) > 1:
        out.test = f"paired t-test over {len(seeds)} seeds"
    elif bootstrapped:
        out.test = f"paired bootstrap over target videos ({resamples} resamples, one seed)"
    else:
        out.test = "one seed, no target scores to resample"
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
