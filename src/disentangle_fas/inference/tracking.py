"""Face detection that keeps up with video: a reduced copy, every k-th frame, a tracked box.

Running a face detector on every full-size frame costs more than the liveness model
(MTCNN: tens of milliseconds per 640x480 frame on one core). :class:`FaceTracker` runs it

* on a **reduced copy** of the frame (longest side ``detect_side``; the box is scaled
  back), and
* on **every k-th frame** only (``every``); in between, the box is predicted from the
  last detections.

The box is tracked by an alpha-beta filter on its centre and size: at a detection the
prediction moves by ``smoothing`` times the measured error (1: take the detection as is)
and the per-frame velocity by ``velocity_gain`` times that error (the second detection of
a track sets it); between detections the box moves on at that velocity. A detection that
neither overlaps the predicted box (IoU of ``min_iou`` or more) nor lies within one face
width of it is a new face: the track restarts there and :attr:`TrackState.new_face` says
so (its temporal verdict should restart too). When the detector finds nothing, the last
box is kept for ``max_misses`` detections, then dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from PIL import Image

if TYPE_CHECKING:  # torch-free at run time: the command line reads the defaults below
    from disentangle_fas.data.faces import FaceDetector
    from disentangle_fas.types import Box

__all__ = [
    "DEFAULT_BOX_SMOOTHING",
    "DEFAULT_DETECT_EVERY",
    "DEFAULT_DETECT_SIDE",
    "FaceTracker",
    "TrackState",
    "box_iou",
    "reduce_frame",
]

#: Default: the detector runs on every 5th frame.
DEFAULT_DETECT_EVERY = 5
#: Default weight of a new detection in the tracked box.
DEFAULT_BOX_SMOOTHING = 0.6
#: Default longest side of the copy the detector sees.
DEFAULT_DETECT_SIDE = 320


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0 when either is empty)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def reduce_frame(frame: NDArray[np.uint8], max_side: int | None) -> tuple[NDArray[np.uint8], int]:
    """Reduce a frame by an integer factor (box averaging) to a longest side <= ``max_side``.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB.
        max_side: the longest side wanted; ``None`` keeps the frame.

    Returns:
        ``(reduced, factor)``: the reduced copy (the frame itself when ``factor == 1``) and
        the factor by which its pixel coordinates are multiplied to get the frame's.
    """
    h, w = frame.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return frame, 1
    factor = math.ceil(max(h, w) / max_side)
    reduced = Image.fromarray(frame).reduce(factor)
    return np.asarray(reduced, dtype=np.uint8), factor


@dataclass(frozen=True)
class TrackState:
    """Where the face is in one frame.

    Attributes:
        box: the tracked box ``(x0, y0, x1, y1)`` in frame pixels, ``None`` when no face
            is tracked.
        detected: whether the detector ran on this frame.
        new_face: whether the track (re)started on this frame.
    """

    box: Box | None
    detected: bool
    new_face: bool


class FaceTracker:
    """Detect on every ``every``-th frame (on a reduced copy) and track the box in between.

    Args:
        detector: any :class:`~disentangle_fas.data.faces.FaceDetector` (MTCNN, the OpenCV
            cascade, or a callable ``image -> box | None``).
        every: run the detector on every ``every``-th frame (1: every frame).
        smoothing: weight in ``(0, 1]`` of a detection against the predicted box (1: the
            detection as is).
        velocity_gain: weight in ``[0, 1)`` of the measured error in the box velocity (0:
            the box holds still between detections).
        detect_side: longest side of the copy the detector sees (``None``: full frames).
        max_misses: detections in a row that may find nothing before the box is dropped.
        min_iou: a detection overlapping the predicted box at least this much continues the
            track (as does one whose centre lies within one face width of it).

    Raises:
        ValueError: a parameter out of range.
    """

    def __init__(
        self,
        detector: FaceDetector,
        *,
        every: int = DEFAULT_DETECT_EVERY,
        smoothing: float = DEFAULT_BOX_SMOOTHING,
        velocity_gain: float = 0.2,
        detect_side: int | None = DEFAULT_DETECT_SIDE,
        max_misses: int = 1,
        min_iou: float = 0.2,
    ) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing}")
        if not 0.0 <= velocity_gain < 1.0:
            raise ValueError(f"velocity_gain must be in [0, 1), got {velocity_gain}")
        if detect_side is not None and detect_side < 1:
            raise ValueError(f"detect_side must be positive or None, got {detect_side}")
        if max_misses < 0 or not 0.0 <= min_iou <= 1.0:
            raise ValueError("max_misses must be >= 0 and min_iou in [0, 1]")
        self.detector = detector
        self.every = int(every)
        self.smoothing = float(smoothing)
        self.velocity_gain = float(velocity_gain)
        self.detect_side = detect_side
        self.max_misses = int(max_misses)
        self.min_iou = float(min_iou)
        self.reset()

    def reset(self) -> None:
        """Forget the track; the next frame runs the detector."""
        self._state: NDArray[np.float64] | None = None  # centre x, centre y, width, height
        self._velocity = np.zeros(4)
        self._first_velocity = True
        self._since = 0  # frames since the last detection
        self._misses = 0

    def _detect(self, frame: NDArray[np.uint8]) -> Box | None:
        small, factor = reduce_frame(frame, self.detect_side)
        found = self.detector(small)
        if found is None:
            return None
        x0, y0, x1, y1 = (float(v) * factor for v in found)
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0.0), max(y0, 0.0), min(x1, float(w)), min(y1, float(h))
        if not (x1 > x0 and y1 > y0 and all(map(math.isfinite, (x0, y0, x1, y1)))):
            return None
        return (x0, y0, x1, y1)

    def _same_face(self, found: Box) -> bool:
        """A detection continues the track when it overlaps the predicted box (IoU of at
        least ``min_iou``) or its centre lies within one face width of the prediction.
        """
        assert self._state is not None
        predicted = self._state + self._velocity * self._since
        if box_iou(_to_box(predicted), found) >= self.min_iou:
            return True
        measured = _to_state(found)
        distance = float(np.hypot(*(measured[:2] - predicted[:2])))
        return distance <= float(max(predicted[2], predicted[3], measured[2], measured[3]))

    def update(self, frame: NDArray[np.uint8]) -> TrackState:
        """Take the next frame and return where the face is.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB.

        Returns:
            The frame's :class:`TrackState`.
        """
        self._since += 1
        due = self._state is None or self._since >= self.every
        if not due:
            assert self._state is not None
            return TrackState(_to_box(self._state + self._velocity * self._since), False, False)
        found = self._detect(frame)
        if found is None:
            self._misses += 1
            if self._state is None or self._misses > self.max_misses:
                self.reset()
                return TrackState(None, True, False)
            self._state = self._state + self._velocity * self._since
            self._since = 0
            return TrackState(_to_box(self._state), True, False)
        measured = _to_state(found)
        self._misses = 0
        if self._state is None or not self._same_face(found):
            self._state, self._velocity, self._since = measured, np.zeros(4), 0
            self._first_velocity = True
            return TrackState(found, True, True)
        predicted = self._state + self._velocity * self._since
        error = measured - predicted
        self._state = predicted + self.smoothing * error
        # the second detection measures the velocity; later ones correct it
        gain = 1.0 if self._first_velocity else self.velocity_gain
        self._velocity = self._velocity + gain * error / self._since
        self._first_velocity = False
        self._since = 0
        return TrackState(_to_box(self._state), True, False)


def _to_state(box: Box) -> NDArray[np.float64]:
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dtype=np.float64)


def _to_box(state: NDArray[np.float64]) -> Box:
    cx, cy, w, h = (float(v) for v in state)
    w, h = max(w, 1.0), max(h, 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
