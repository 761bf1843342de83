"""A verdict over time: exponential smoothing of P(live) plus hysteresis around the threshold.

A per-frame score flickers: a blink, motion blur or a box that moved by a few pixels can
push one frame across the threshold. :class:`TemporalVerdict` turns the per-frame scores
of one face into a verdict that changes only when the evidence does:

1. **Smoothing**: ``s_t = alpha * p_t + (1 - alpha) * s_{t-1}``, started at the first score.
2. **Hysteresis**: the verdict becomes ``"live"`` when ``s_t >= threshold + hysteresis``
   and goes back to ``"spoof"`` when ``s_t < threshold - hysteresis``; in between it keeps
   its previous value. It starts as ``"spoof"`` (a face must earn ``"live"``).
3. **No face**: a frame without a score (``nan``) resets the state; the verdict is
   ``"no_face"`` and the next face starts afresh (a new face is new evidence).

A single outlying frame moves ``s`` by at most ``alpha`` (scores lie in ``[0, 1]``), so
with ``alpha`` below the distance between the steady smoothed score and the far edge of
the hysteresis band, one frame cannot flip the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_HYSTERESIS", "DEFAULT_SMOOTHING", "TemporalVerdict", "Verdict"]

#: A verdict over time: ``"live"``, ``"spoof"``, or ``"no_face"`` (no face in this frame).
Verdict = Literal["live", "spoof", "no_face"]

#: Default weight of the newest score in the moving average.
DEFAULT_SMOOTHING = 0.3

#: Default half-width of the hysteresis band around the threshold.
DEFAULT_HYSTERESIS = 0.05


@dataclass
class TemporalVerdict:
    """Smoothed P(live) and a hysteresis verdict for one face over consecutive frames.

    Args:
        threshold: the decision threshold on P(live), in ``[0, 1]``.
        smoothing: ``alpha`` in ``(0, 1]``, the weight of the newest score (1: no smoothing).
        hysteresis: ``h`` in ``[0, 0.5]``; enter ``"live"`` at ``s >= min(1, t + h)``,
            leave it below ``max(0, t - h)`` (0: the plain threshold on ``s``).

    Raises:
        ValueError: a parameter out of range.

    Example:
        >>> tv = TemporalVerdict(threshold=0.5, smoothing=0.5, hysteresis=0.1)
        >>> [tv.update(p)[1] for p in (0.9, 0.9, 0.1, 0.9, 0.2, 0.1, 0.1)]
        ['live', 'live', 'live', 'live', 'live', 'spoof', 'spoof']
    """

    threshold: float = 0.5
    smoothing: float = DEFAULT_SMOOTHING
    hysteresis: float = DEFAULT_HYSTERESIS

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing}")
        if not 0.0 <= self.hysteresis <= 0.5:
            raise ValueError(f"hysteresis must be in [0, 0.5], got {self.hysteresis}")
        self.smoothed: float = math.nan
        self.verdict: Verdict = "no_face"

    @property
    def enter_live(self) -> float:
        """The smoothed score at or above which the verdict becomes ``"live"``."""
        return min(1.0, self.threshold + self.hysteresis)

    @property
    def leave_live(self) -> float:
        """The smoothed score below which a ``"live"`` verdict becomes ``"spoof"``."""
        return max(0.0, self.threshold - self.hysteresis)

    def reset(self) -> None:
        """Forget the history (a new face, or none)."""
        self.smoothed = math.nan
        self.verdict = "no_face"

    def update(self, p_live: float) -> tuple[float, Verdict]:
        """Add the score of the next frame.

        Args:
            p_live: P(live) of this frame, or ``nan`` when no face was scored.

        Returns:
            ``(smoothed, verdict)``: the smoothed score (``nan`` without a face) and the
            verdict after this frame.

        Raises:
            ValueError: a score outside ``[0, 1]``.
        """
        if math.isnan(p_live):
            self.reset()
            return self.smoothed, self.verdict
        if not 0.0 <= p_live <= 1.0:
            raise ValueError(f"p_live must be in [0, 1] or nan, got {p_live}")
        if math.isnan(self.smoothed):
            self.smoothed = float(p_live)
            self.verdict = "spoof"
        else:
            a = self.smoothing
            self.smoothed = a * float(p_live) + (1.0 - a) * self.smoothed
        if self.verdict == "live":
            if self.smoothed < self.leave_live:
                self.verdict = "spoof"
        elif self.smoothed >= self.enter_live:
            self.verdict = "live"
        return self.smoothed, self.verdict
