"""Refusing degenerate scores: a model that gives every sample (nearly) the same score.

Metrics computed on such scores rank rounding noise: a torchvision EfficientNet whose batch
norm running statistics had not caught up gave every input, noise and black images alike,
P(live) 0.00272703 (spread 1.4e-9), and the harness still reported an AUC of 82%.
:func:`check_score_spread` refuses such scores before any metric is made.

The spread is measured on the log-odds scale, ``log(p / (1 - p))``, when every score is a
probability in ``[0, 1]`` (P(live)), and on the scores themselves otherwise. P(live) alone
cannot separate the two cases: a genuine, confident model whose scores are all near 0 has a
P(live) spread of a few 1e-6 but log-odds spreads near 1, while the degenerate models
measured had log-odds spreads of 0 to 9e-5 (float32 rounding of a logit of size 1 to 10
is 1e-7 to 1e-6). The default tolerance, ``1e-4``, lies between them: briefly trained
healthy ResNets, MobileNets and EfficientNets all measured above ``4e-4``, ResNets above 0.5.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DEFAULT_SPREAD_TOL", "DegenerateScoresError", "check_score_spread", "score_spread"]

#: Default tolerance of :func:`check_score_spread` (log-odds units for probabilities).
DEFAULT_SPREAD_TOL = 1e-4


class DegenerateScoresError(RuntimeError):
    """The scores are (nearly) constant, so no metric computed from them means anything.

    Attributes:
        low, high: the smallest and largest score.
        spread: the spread that was compared with the tolerance (log-odds units when the
            scores are probabilities).
    """

    def __init__(self, message: str, *, low: float, high: float, spread: float) -> None:
        super().__init__(message)
        self.low, self.high, self.spread = low, high, spread


def _as_array(scores: Any) -> NDArray[np.float64]:
    if hasattr(scores, "detach"):  # a torch tensor, without importing torch
        scores = scores.detach().cpu().float().numpy()
    return np.asarray(scores, dtype=np.float64).reshape(-1)


def score_spread(scores: Any) -> float:
    """Return the spread (max - min) of ``scores`` on the scale :func:`check_score_spread` uses.

    Probabilities (every score in ``[0, 1]``) are compared as log-odds, clipped so that
    exact 0 and 1 stay finite; other scores as they are. Non-finite scores are ignored.

    Args:
        scores: 1-D scores (numpy array, torch tensor or sequence).

    Returns:
        The spread, ``0.0`` for fewer than two finite scores.
    """
    arr = _as_array(scores)
    arr = arr[np.isfinite(arr)]
    if arr.size < 2:
        return 0.0
    if arr.min() >= 0.0 and arr.max() <= 1.0:
        tiny = np.finfo(np.float64).tiny
        p = np.clip(arr, tiny, 1.0 - np.finfo(np.float64).epsneg)
        arr = np.log(p) - np.log1p(-p)
    return float(arr.max() - arr.min())


def check_score_spread(
    scores: Any, *, tol: float = DEFAULT_SPREAD_TOL, what: str = "scores"
) -> None:
    """Raise :class:`DegenerateScoresError` when ``scores`` are (nearly) constant.

    Scores of fewer than two samples, and scores holding NaN or infinite values, are left to
    the metrics (which report non-finite scores themselves).

    Args:
        scores: 1-D scores, P(live) or any real-valued score.
        tol: the smallest acceptable :func:`score_spread` (log-odds units for probabilities).
        what: what the scores are, for the message (e.g. ``"source-val scores"``).

    Raises:
        DegenerateScoresError: the spread is below ``tol``.
        ValueError: ``tol`` is negative or not finite.
    """
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    arr = _as_array(scores)
    if arr.size < 2 or not np.isfinite(arr).all():
        return
    spread = score_spread(arr)
    if spread >= tol:
        return
    low, high = float(arr.min()), float(arr.max())
    scale = "log-odds spread" if low >= 0.0 and high <= 1.0 else "spread"
    raise DegenerateScoresError(
        f"{what} are constant: {arr.size} scores between min {low:.9g} and max {high:.9g} "
        f"(spread {high - low:.3g}, {scale} {spread:.3g} < tol {tol:g}), so no metric "
        "would mean anything. The likely cause is the backbone's batch-norm running "
        "statistics: in eval mode they do not yet match the features (too few training "
        "steps for the batch-norm momentum, or a mis-scaled initialisation), and each "
        "layer shrinks the per-sample signal until only rounding noise is left. Train "
        "longer, raise the batch-norm momentum, or start from pretrained weights; a "
        "saturated head (every score exactly 0 or 1) shows the same way.",
        low=low,
        high=high,
        spread=spread,
    )
