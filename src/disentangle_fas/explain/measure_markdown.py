"""The measured disentanglement as Markdown tables and as JSON-ready dicts."""

from __future__ import annotations

import math
from typing import Any

from disentangle_fas.explain.features import SYMBOLS
from disentangle_fas.explain.measure import (
    DependenceRow,
    DisentanglementMeasure,
    MeasureRow,
    Metric,
    Spread,
)

__all__ = ["measure_dict", "measure_table", "spread_cell"]

_METRIC_NAMES: dict[Metric, str] = {
    "balanced_accuracy": "balanced accuracy",
    "auc": "AUC (one-vs-rest macro for more than two classes)",
    "information": "usable information: the share of the label's uncertainty the probe "
    "removes on held-out samples, 1 − CE(probe) / CE(training class frequencies) "
    "(chance 0; negative: worse than predicting the class frequencies)",
}


def spread_cell(spread: Spread | None, *, scale: float = 100.0) -> str:
    """``"mean ± std"`` of a :class:`~disentangle_fas.explain.measure.Spread` (``"–"`` for
    none; the mean alone for one value).

    Example:
        >>> from disentangle_fas.explain.measure import Spread
        >>> spread_cell(Spread((0.5, 0.7)))
        '60.0 ± 14.1'
    """
    if spread is None:
        return "–"
    if len(spread.values) < 2:
        return f"{scale * spread.mean:.1f}"
    return f"{scale * spread.mean:.1f} ± {scale * spread.std:.1f}"


def _difference(spread: Spread | None) -> str:
    if spread is None:
        return "–"
    if len(spread.values) < 2:
        return f"{100 * spread.mean:+.1f}"
    low, high = spread.interval
    return f"{100 * spread.mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def _label(row: MeasureRow) -> str:
    return row.target


def _probe_table(rows: list[MeasureRow], metric: Metric) -> list[str]:
    lines = [
        "| label | features | probe | trained | untrained | pixels | chance "
        "| trained − untrained (95 % CI) | verdict | disentangled model |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        if r.metric != metric:
            continue
        lines.append(
            f"| {_label(r)} | {SYMBOLS[r.representation]} | {r.kind} | {spread_cell(r.trained)} "
            f"| {spread_cell(r.untrained)} | {spread_cell(r.pixels)} | {100 * r.chance:.1f} "
            f"| {_difference(r.difference)} | {r.verdict} | {r.expected} |"
        )
    return lines


def _opt(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.3f}"


def _dependence_table(rows: tuple[DependenceRow, ...]) -> list[str]:
    lines = [
        "| dependence | CKA trained | CKA untrained | CKA pixels | HSIC trained |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {d.name} | {d.cka:.3f} | {_opt(d.untrained_cka)} | {_opt(d.pixels_cka)} "
        f"| {d.hsic:.2e} |"
        for d in rows
    ]
    return lines


def measure_table(measure: DisentanglementMeasure) -> str:
    """Markdown: the probe tables (balanced accuracy, AUC, then usable information;
    percentages, mean ± std over probe seeds) with the untrained and pixel references,
    the paired difference to the untrained copy and its verdict; then the kernel
    dependence table and the notes.
    """
    rows = list(measure.rows)
    seeds = ", ".join(str(s) for s in measure.seeds)
    lines = [
        f"Probes fitted on {measure.n_train} source-train samples and scored on "
        f"{measure.n_val} held-out source-val samples; mean ± std over probe seeds {seeds} "
        "(a stratified bootstrap of the train samples each); percentages. 'below untrained': "
        "the 95 % t-interval of trained − untrained lies below 0.",
        "",
    ]
    for metric in _METRIC_NAMES:
        if any(r.metric == metric for r in rows):
            lines += [f"**{_METRIC_NAMES[metric]}**", "", *_probe_table(rows, metric), ""]
    if measure.dependence:
        lines += [
            f"**Kernel dependence** on {measure.kernel_samples} held-out samples: CKA = "
            "HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y)), Gaussian kernels with median "
            "bandwidths (0 independent, 1 the same up to the kernel); domain labels one-hot.",
            "",
            *_dependence_table(measure.dependence),
            "",
        ]
    lines += [f"- {n}" for n in measure.notes]
    lines.append(f"Measured in {measure.seconds:.1f} s.")
    return "\n".join(lines).rstrip("\n") + "\n"


def _spread_dict(spread: Spread | None) -> dict[str, Any] | None:
    if spread is None:
        return None
    low, high = spread.interval
    return {
        "values": list(spread.values),
        "mean": spread.mean,
        "std": spread.std,
        "ci95": None if math.isnan(low) else [low, high],
    }


def measure_dict(measure: DisentanglementMeasure) -> dict[str, Any]:
    """JSON-ready form: one dict per probe row and per dependence row, with the seeds,
    sample counts, notes and wall time.
    """
    return {
        "n_train": measure.n_train,
        "n_val": measure.n_val,
        "seeds": list(measure.seeds),
        "kernel_samples": measure.kernel_samples,
        "seconds": measure.seconds,
        "notes": list(measure.notes),
        "rows": [
            {
                "target": r.target,
                "features": SYMBOLS[r.representation],
                "probe": r.kind,
                "metric": r.metric,
                "chance": r.chance,
                "expected": r.expected,
                "verdict": r.verdict,
                "trained": _spread_dict(r.trained),
                "untrained": _spread_dict(r.untrained),
                "pixels": _spread_dict(r.pixels),
                "trained_minus_untrained": _spread_dict(r.difference),
            }
            for r in measure.rows
        ],
        "dependence": [
            {
                "name": d.name,
                "cka": d.cka,
                "hsic": d.hsic,
                "untrained_cka": d.untrained_cka,
                "pixels_cka": d.pixels_cka,
            }
            for d in measure.dependence
        ],
    }
