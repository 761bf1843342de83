"""Scoring a stream frame by frame: tracked face, P(live), smoothed P(live), verdict over time.

:class:`StreamScorer` joins the parts of :mod:`~disentangle_fas.inference.stream` (frames),
:mod:`~disentangle_fas.inference.tracking` (where the face is) and
:mod:`~disentangle_fas.inference.temporal` (the verdict over time). It keeps no history
beyond the tracker's and the smoothing's few numbers, so memory stays flat on streams of
any length.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from numpy.typing import NDArray

from disentangle_fas.data.faces import DEFAULT_CROP_SCALE, MIN_FACE_SIDE, FaceDetector, crop_face
from disentangle_fas.inference.faces import resize_image, validate_box
from disentangle_fas.inference.results import Region
from disentangle_fas.inference.stream import Frame
from disentangle_fas.inference.temporal import (
    DEFAULT_HOLD,
    DEFAULT_HYSTERESIS,
    DEFAULT_SMOOTHING,
    TemporalVerdict,
    Verdict,
)
from disentangle_fas.inference.tracking import (
    DEFAULT_BOX_SMOOTHING,
    DEFAULT_DETECT_EVERY,
    DEFAULT_DETECT_SIDE,
    FaceTracker,
)
from disentangle_fas.types import Box

if TYPE_CHECKING:
    from disentangle_fas.inference.detector import LivenessDetector

__all__ = ["CropScorer", "StreamResult", "StreamScorer"]

#: Scores one ``(S, S, 3)`` uint8 RGB face crop: P(live) in ``[0, 1]``.
CropScorer = Callable[[NDArray[np.uint8]], float]


@dataclass(frozen=True)
class StreamResult:
    """The verdict on one frame of a stream.

    Attributes:
        frame_index: the frame number in the stream.
        time: the frame's timestamp in seconds.
        box: the scored region in frame pixels; ``None`` without a face.
        p_live: this frame's P(live); ``nan`` without a face.
        p_live_smoothed: the smoothed P(live) of the current face; ``nan`` without one.
        verdict: ``"live"``, ``"spoof"`` or ``"no_face"``, over time (see
            :class:`~disentangle_fas.inference.temporal.TemporalVerdict`).
        face_found: a face region was located (detected, tracked or given), as for
            images: ``False`` for whole-frame scoring.
        region: ``"detected"`` (found or tracked), ``"box"``, ``"whole-image"`` or ``"none"``.
        detected: whether the face detector ran on this frame.
        latency_ms: milliseconds spent on this frame (detect or track, crop, score).
    """

    frame_index: int
    time: float
    box: Box | None
    p_live: float
    p_live_smoothed: float
    verdict: Verdict
    face_found: bool
    region: Region
    detected: bool
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict (``nan`` becomes ``None``)."""
        return {
            "frame": self.frame_index,
            "time": round(self.time, 6),
            "box": None if self.box is None else [round(v, 1) for v in self.box],
            "p_live": _json(self.p_live),
            "p_live_smoothed": _json(self.p_live_smoothed),
            "verdict": self.verdict,
            "face_found": self.face_found,
            "region": self.region,
            "detected": self.detected,
            "latency_ms": round(self.latency_ms, 2),
        }


def _json(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


class StreamScorer:
    """Score the frames of a stream one by one, with a tracked face and a temporal verdict.

    Args:
        score_crop: P(live) of one ``(image_size, image_size, 3)`` uint8 crop.
        image_size: the model's input side.
        threshold: the decision threshold on P(live).
        face_detector: the detector the tracker runs; ``None`` scores a given ``box`` or,
            without one, the whole frame (``face_found=False``, as for images).
        box: a fixed face box for every frame (the detector is not used).
        crop_scale: enlargement of the face box before cropping.
        every: run the detector on every ``every``-th frame.
        box_smoothing: weight of a detection against the tracked box (1: none).
        detect_side: longest side of the copy the detector sees (``None``: full frames).
        smoothing: weight of the newest score in the smoothed P(live).
        hysteresis: half-width of the band around the threshold.
        hold: frames in a row past the band before the verdict changes.

    Raises:
        ValueError: a parameter out of range.
    """

    def __init__(
        self,
        score_crop: CropScorer,
        image_size: int,
        threshold: float,
        *,
        face_detector: FaceDetector | None = None,
        box: Sequence[float] | None = None,
        crop_scale: float = DEFAULT_CROP_SCALE,
        every: int = DEFAULT_DETECT_EVERY,
        box_smoothing: float = DEFAULT_BOX_SMOOTHING,
        detect_side: int | None = DEFAULT_DETECT_SIDE,
        smoothing: float = DEFAULT_SMOOTHING,
        hysteresis: float = DEFAULT_HYSTERESIS,
        hold: int = DEFAULT_HOLD,
    ) -> None:
        if image_size < 1 or crop_scale <= 0:
            raise ValueError("image_size must be >= 1 and crop_scale > 0")
        self.score_crop = score_crop
        self.image_size = int(image_size)
        self.crop_scale = float(crop_scale)
        self.box = None if box is None else tuple(float(v) for v in box)
        self.temporal = TemporalVerdict(threshold, smoothing, hysteresis, hold)
        self.tracker = (
            None
            if face_detector is None
            else FaceTracker(
                face_detector, every=every, smoothing=box_smoothing, detect_side=detect_side
            )
        )

    @classmethod
    def from_detector(cls, detector: LivenessDetector, **kwargs: Any) -> StreamScorer:
        """Stream with a :class:`~disentangle_fas.inference.LivenessDetector`'s model,
        threshold, face detector and crop (PyTorch).

        Args:
            detector: the detector.
            **kwargs: the other constructor arguments (``every``, ``smoothing``, ...).

        Returns:
            The scorer.
        """

        def score(crop: NDArray[np.uint8]) -> float:
            batch = torch.from_numpy(np.array(crop)).permute(2, 0, 1).unsqueeze(0)
            return float(detector.score_crops(batch)[0])

        kwargs.setdefault("face_detector", detector.face_detector)
        kwargs.setdefault("crop_scale", detector.crop_scale)
        return cls(score, detector.image_size, detector.threshold, **kwargs)

    @classmethod
    def from_onnx(
        cls,
        path: str | os.PathLike[str],
        *,
        threshold: float | None = None,
        intra_op_threads: int | None = 1,
        **kwargs: Any,
    ) -> StreamScorer:
        """Stream with a model exported by :func:`~disentangle_fas.inference.export_onnx`,
        run by ONNX Runtime (CPU).

        Args:
            path: the ``.onnx`` file (its metadata gives the input size and threshold).
            threshold: overrides the stored threshold (0.5 when none is stored).
            intra_op_threads: ONNX Runtime's threads per operator.
            **kwargs: the other constructor arguments (``face_detector``, ``every``, ...).

        Returns:
            The scorer.

        Raises:
            ImportError: onnxruntime is not installed.
            ValueError: the file stores no input size.
        """
        from disentangle_fas.inference.onnx import OnnxLivenessModel

        model = OnnxLivenessModel(path, intra_op_threads=intra_op_threads)
        if model.image_size is None:
            raise ValueError(f"{path} stores no image_size in its metadata (export_onnx writes it)")

        def score(crop: NDArray[np.uint8]) -> float:
            x = crop.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(1 / 255)
            return float(model(x)[0])

        chosen = threshold if threshold is not None else model.threshold
        return cls(score, model.image_size, 0.5 if chosen is None else chosen, **kwargs)

    def reset(self) -> None:
        """Forget the tracked face and the smoothed score (a new stream)."""
        self.temporal.reset()
        if self.tracker is not None:
            self.tracker.reset()

    def _region(self, image: NDArray[np.uint8]) -> tuple[Box | None, Region, bool, bool]:
        """``(box, region, detected, new_face)`` of one frame."""
        h, w = image.shape[:2]
        if self.box is not None:
            return validate_box(self.box, w, h), "box", False, False
        if self.tracker is None:
            if min(h, w) < MIN_FACE_SIDE:
                return None, "none", False, False
            return (0.0, 0.0, float(w), float(h)), "whole-image", False, False
        state = self.tracker.update(image)
        box = state.box
        if box is not None:
            try:
                box = validate_box(box, w, h)
            except ValueError:  # a predicted box that left the frame: no face
                box = None
        return box, ("detected" if box is not None else "none"), state.detected, state.new_face

    def process(self, image: NDArray[np.uint8], index: int = 0, t: float = 0.0) -> StreamResult:
        """Score the next frame.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            index: its frame number.
            t: its timestamp in seconds.

        Returns:
            The frame's result.
        """
        start = time.perf_counter()
        box, region, detected, new_face = self._region(image)
        if new_face:
            self.temporal.reset()
        p = math.nan
        if box is not None:
            if region == "whole-image":
                crop = resize_image(image, self.image_size)
            else:
                crop = crop_face(image, box, self.image_size, scale=self.crop_scale)
            p = min(1.0, max(0.0, float(self.score_crop(crop))))
        smoothed, verdict = self.temporal.update(p)
        return StreamResult(
            frame_index=index,
            time=t,
            box=box,
            p_live=p,
            p_live_smoothed=smoothed,
            verdict=verdict,
            face_found=region in ("detected", "box"),
            region=region,
            detected=detected,
            latency_ms=(time.perf_counter() - start) * 1e3,
        )

    def run(self, frames: Iterable[Frame]) -> Iterator[StreamResult]:
        """Score frames as they come (a generator: one result per frame, nothing kept).

        Args:
            frames: e.g. a :class:`~disentangle_fas.inference.stream.StreamReader`.

        Yields:
            One :class:`StreamResult` per frame.
        """
        for frame in frames:
            yield self.process(frame.image, frame.index, frame.time)
