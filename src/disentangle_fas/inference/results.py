"""Typed results of :class:`~disentangle_fas.inference.LivenessDetector`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from disentangle_fas._io import path_text
from disentangle_fas.types import Box

__all__ = ["LivenessResult", "Region", "VideoResult", "decide"]

#: Which part of the image was scored:
#:
#: * ``"detected"``: the box found by the face detector;
#: * ``"box"``: the box given by the caller;
#: * ``"input"``: the input itself, taken to be a face crop (tensor batches);
#: * ``"whole-image"``: no detector and no box, so the whole image (with a warning);
#: * ``"none"``: the detector found no face; nothing was scored.
Region = Literal["detected", "box", "input", "whole-image", "none"]


def decide(p_live: float, threshold: float) -> bool:
    """Return the decision rule of the library: live iff ``p_live >= threshold``.

    A NaN score (nothing scored) is never live.

    Args:
        p_live: score P(live).
        threshold: decision threshold.

    Returns:
        ``True`` for live.
    """
    return not math.isnan(p_live) and p_live >= threshold


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class LivenessResult:
    """The verdict on one image (or one video frame).

    Attributes:
        p_live: P(live) in ``[0, 1]``; ``nan`` when no face was found.
        is_live: ``p_live >= threshold`` (``False`` when no face was found).
        threshold: the decision threshold used (the checkpoint's stored one by default).
        box: the scored region ``(x0, y0, x1, y1)`` in input pixels (the whole image for
            ``"whole-image"`` and ``"input"``), ``None`` when no face was found.
        face_found: ``True`` when a face region was located (detected, given, or the input
            is a crop); ``False`` when the detector found none or none could be looked for.
        region: how the scored region was chosen (see :data:`Region`).
        source: the file the image came from, if any.
        frame_index: the frame number within its video, for video frames.
    """

    p_live: float
    is_live: bool
    threshold: float
    box: Box | None
    face_found: bool
    region: Region = "detected"
    source: str | None = None
    frame_index: int | None = None

    @property
    def scored(self) -> bool:
        """Whether a score was computed (``False`` when no face was found)."""
        return not math.isnan(self.p_live)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (``p_live`` is ``None`` when nothing was scored)."""
        return {
            **_verdict_dict(self, "image"),
            "region": self.region,
            "box": None if self.box is None else [round(v, 2) for v in self.box],
            "frame_index": self.frame_index,
        }


@dataclass(frozen=True)
class VideoResult:
    """The verdict on a video: per-frame results and their mean score.

    Attributes:
        frames: one :class:`LivenessResult` per sampled frame (``frame_index`` set).
        p_live: mean P(live) over the frames that were scored; ``nan`` when none was.
        is_live: ``p_live >= threshold``.
        threshold: the decision threshold used.
        source: the video file.
    """

    frames: tuple[LivenessResult, ...]
    p_live: float
    is_live: bool
    threshold: float
    source: str | None = None

    @classmethod
    def aggregate(
        cls, frames: tuple[LivenessResult, ...], threshold: float, source: str | None = None
    ) -> VideoResult:
        """Build the result of a video from its frames (mean of the scored frames).

        Args:
            frames: the per-frame results.
            threshold: decision threshold.
            source: the video file.

        Returns:
            The video result.
        """
        scores = [f.p_live for f in frames if f.scored]
        p = math.fsum(scores) / len(scores) if scores else math.nan
        return cls(frames, p, decide(p, threshold), threshold, source)

    @property
    def face_found(self) -> bool:
        """Whether a face region was located in at least one frame.

        As for images, frames scored whole (no detector, no box) locate no face.
        """
        return any(f.face_found for f in self.frames)

    @property
    def num_scored(self) -> int:
        """How many frames were scored (had a face, a box, or were scored whole)."""
        return sum(f.scored for f in self.frames)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict with the per-frame scores."""
        return {
            **_verdict_dict(self, "video"),
            "num_frames": len(self.frames),
            "num_scored": self.num_scored,
            "frame_indices": [f.frame_index for f in self.frames],
            "frame_scores": [_json_float(f.p_live) for f in self.frames],
        }


def _verdict_dict(result: LivenessResult | VideoResult, kind: str) -> dict[str, Any]:
    """The keys both results' dicts start with: where, what kind, the score and verdict."""
    return {
        "source": None if result.source is None else path_text(result.source),
        "kind": kind,
        "p_live": _json_float(result.p_live),
        "is_live": result.is_live,
        "threshold": result.threshold,
        "face_found": result.face_found,
    }
