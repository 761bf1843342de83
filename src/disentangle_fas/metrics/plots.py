"""ROC-curve figure (optional: needs matplotlib, ``pip install "disentangle-fas[plots]"``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from disentangle_fas.metrics.roc import RocCurve

__all__ = ["save_roc_png"]


def _import_figure() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(
            'ROC plots need matplotlib: pip install "disentangle-fas[plots]"'
        ) from err
    return Figure


def save_roc_png(
    curves: Mapping[str, RocCurve],
    path: str | Path,
    *,
    title: str | None = None,
    log_fpr: bool = False,
    dpi: int = 120,
) -> Path:
    """Draw one ROC curve per task into a PNG file.

    The x axis is FPR (spoof accepted as live, = FAR), the y axis TPR (live accepted).
    matplotlib is imported lazily and used without pyplot (no global state, no display).

    Args:
        curves: task name -> :class:`~disentangle_fas.metrics.RocCurve`.
        path: output file (``.png``); parent folders are created.
        title: optional figure title.
        log_fpr: log-scale FPR axis (zero FPR is drawn at ``1e-4``), useful to read
            TPR at FPR 1% / 0.1%.
        dpi: resolution.

    Returns:
        The path written.

    Raises:
        ImportError: when matplotlib is not installed.
        ValueError: when ``curves`` is empty.
    """
    if len(curves) == 0:
        raise ValueError("no ROC curves to plot")
    figure_cls = _import_figure()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = figure_cls(figsize=(4.5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    for name, roc in curves.items():
        fpr = np.maximum(roc.fpr, 1e-4) if log_fpr else roc.fpr
        ax.plot(fpr, roc.tpr, drawstyle="default", label=name)
    if log_fpr:
        ax.set_xscale("log")
        ax.set_xlim(1e-4, 1.0)
    else:
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=0.8)
        ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("FPR (spoof accepted)")
    ax.set_ylabel("TPR (live accepted)")
    if title:
        ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi, format="png")
    return out
