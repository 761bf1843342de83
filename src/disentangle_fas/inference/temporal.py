"""A verdict over time: exponential smoothing of P(live) plus hysteresis around the threshold.

A per-frame score flickers: a blink, motion blur or a box that moved by a few pixels can
push one frame across the threshold. :class:`TemporalVerdict` turns the per-frame scores
of one face into a verdict that changes only when the evidence does:

1. **Smoothing**: ``s_t = alpha * p_t + (1 - alpha) * s_{t-1}``, started at the first score.
2. **Hysteresis**: the verdict becomes ``"live"`` when ``s_t >= threshold + hysteresis``
   and goes back to ``"spoof"`` when ``s_t < threshold - hysteresis``; in between it keeps
   its previous value. It starts as ``"spoof"`` (a face must earn ``"live"``).
3. **Hold**: the smoothed score must stay past the far edge for ``hold`` frames in a row
   before the verdict changes, so every verdict lasts at least ``hold`` frames (until the
   face is lost): a model whose score jumps between 0 and 1 with a few pixels of box
   shift cannot make the verdict flicker.
4. **No face**: a frame without a score (``nan``) resets the state; the verdict is
   ``"no_face"`` and the next face starts afresh (a new face is new evidence).

A single outlying frame moves ``s`` by at most ``alpha`` (scores lie in ``[0, 1]``), so
with ``alpha`` below the distance between the steady smoothed score and the far edge of
the hysteresis band, one frame does not even reach the edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_HOLD",
    "DEFAULT_HYSTERESIS",
    "DEFAULT_SMOOTHING",
    "TemporalVerdict",
    "Verdict",
]

#: A verdict over time: ``"live"``, ``"spoof"``, or ``"no_face"`` (no face in this frame).
Verdict = Literal["live", "spoof", "no_face"]

#: Default weight of the newest score in the moving average.
DEFAULT_SMOOTHING = 0.3

#: Default half-width of the hysteresis band around the threshold.
DEFAULT_HYSTERESIS = 0.05

#: Default number of frames in a row the smoothed score must stay past the band's far edge
#: before the verdict changes (0.1 s at 30 frames per second).
DEFAULT_HOLD = 3


@dataclass
class TemporalVerdict:
    """Smoothed P(live) and a hysteresis verdict for one face over consecutive frames.

    Args:
        threshold: the decision threshold on P(live), in ``[0, 1]``.
        smoothing: ``alpha`` in ``(0, 1]``, the weight of the newest score (1: no smoothing).
        hysteresis: ``h`` in ``[0, 0.5]``; enter ``"live"`` at ``s >= min(1, t + h)``,
            leave it below ``max(0, t - h)`` (0: the plain threshold on ``s``).
        hold: frames in a row past the far edge before the verdict changes (>= 1; 1: at
            once). A face's first verdict is ``"spoof"`` until it has held ``"live"``.

    Raises:
        ValueError: a parameter out of range.

    Example:
        >>> tv = TemporalVerdict(threshold=0.5, smoothing=0.5, hysteresis=0.1, hold=2)
        >>> [tv.update(p)[1] for p in (0.9, 0.9, 0.1, 0.9, 0.2, 0.1, 0.1, 0.1)]
        ['spoof', 'live', 'live', 'live', 'live', 'live', 'spoof', 'spoof']
    """

    threshold: float = 0.5
    smoothing: float = DEFAULT_SMOOTHING
    hysteresis: float = DEFAULT_HYSTERESIS
    hold: int = DEFAULT_HOLD

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {self.threshold}")
        if not 0.0 < self.smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {self.smoothing}")
        if not 0.0 <= self.hysteresis <= 0.5:
            raise ValueError(f"hysteresis must be in [0, 0.5], got {self.hysteresis}")
        if self.hold < 1:
            raise ValueError(f"hold must be >= 1, got {self.hold}")
        self.smoothed: float = math.nan
        self.verdict: Verdict = "no_face"
        self._beyond = 0  # frames in a row past the far edge

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
        self._beyond = 0

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
            past = self.smoothed < self.leave_live
        else:
            past = self.smoothed >= self.enter_live
        self._beyond = self._beyond + 1 if past else 0
        if self._beyond >= self.hold:
            self.verdict = "spoof" if self.verdict == "live" else "live"
            self._beyond = 0
        return self.smoothed, self.verdict
