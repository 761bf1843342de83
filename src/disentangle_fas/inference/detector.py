"""The :class:`LivenessDetector`: files, images, arrays, tensors or videos in, verdicts out."""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, overload

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor

from disentangle_fas.checkpoint import Builder
from disentangle_fas.contracts import LivenessModel
from disentangle_fas.data.faces import DEFAULT_CROP_SCALE, MIN_FACE_SIDE, FaceDetector, crop_face
from disentangle_fas.inference.errors import NoFaceDetectorWarning
from disentangle_fas.inference.faces import (
    FaceDetectorSpec,
    resize_image,
    resolve_face_detector,
    validate_box,
)
from disentangle_fas.inference.io import (
    ImageLike,
    as_image_batch,
    is_video_path,
    load_image,
    read_video_frames,
    to_rgb_array,
)
from disentangle_fas.inference.loading import (
    checkpoint_image_size,
    default_device,
    load_checkpoint,
    model_image_size,
)
from disentangle_fas.inference.results import LivenessResult, Region, VideoResult, decide
from disentangle_fas.types import Box

__all__ = ["ImageLike", "LivenessDetector"]


@dataclass(frozen=True)
class _Pending:
    """A located (or not) face, waiting for its score."""

    crop: NDArray[np.uint8] | None
    box: Box | None
    region: Region
    source: str | None
    frame_index: int | None = None


class LivenessDetector:
    """Face liveness from E_L + C_L: locate the face, crop, resize, score, decide.

    Args:
        model: any :class:`~disentangle_fas.contracts.LivenessModel`; only its inference
            path is kept (:meth:`~disentangle_fas.contracts.LivenessModel.liveness_only`:
            E_L + C_L of the paper's model, the whole SSDG-R).
        threshold: decision threshold on P(live); live iff ``p_live >= threshold``.
        device: torch device; ``None`` picks CUDA when available, else CPU.
        face_detector: ``"auto"`` (MTCNN when facenet-pytorch is installed, else none),
            ``"mtcnn"``, ``None`` (no detector) or a callable ``image -> box | None``.
            Without a detector and without a box the whole image is scored, with a
            :class:`NoFaceDetectorWarning` (once per detector); an image whose shorter
            side is below ``MIN_FACE_SIDE`` (20 px) is then a "no face" result.
        image_size: model input side; defaults to the model's ``input_spec.image_size``
            (required for models that do not know theirs).
        crop_scale: enlargement of the face box before cropping (the preprocessing default).
        num_frames: frames sampled per video.
        batch_size: images per forward pass.

    Raises:
        ValueError: bad threshold, sizes, or no image size known.
        ImportError: ``face_detector="mtcnn"`` without facenet-pytorch.

    Example:
        >>> det = LivenessDetector.from_checkpoint("model.safetensors")  # doctest: +SKIP
        >>> det("face.jpg").p_live  # doctest: +SKIP
        0.93
    """

    def __init__(
        self,
        model: LivenessModel,
        *,
        threshold: float = 0.5,
        device: str | torch.device | None = None,
        face_detector: FaceDetectorSpec = "auto",
        image_size: int | None = None,
        crop_scale: float = DEFAULT_CROP_SCALE,
        num_frames: int = 8,
        batch_size: int = 32,
    ) -> None:
        if not math.isfinite(threshold):
            raise ValueError(f"threshold must be a finite number, got {threshold}")
        if crop_scale <= 0 or num_frames < 1 or batch_size < 1:
            raise ValueError("crop_scale must be > 0, num_frames and batch_size >= 1")
        size = image_size if image_size is not None else model_image_size(model)
        if size is None or size < 1:
            raise ValueError(
                "image_size is unknown: pass image_size= for a model whose config has none"
            )
        self.device = torch.device(device) if device is not None else default_device()
        self.model: LivenessModel = model.liveness_only().to(self.device).eval()
        self.threshold = float(threshold)
        self.image_size = int(size)
        self.crop_scale = float(crop_scale)
        self.num_frames = int(num_frames)
        self.batch_size = int(batch_size)
        self.face_detector: FaceDetector | None = resolve_face_detector(
            face_detector, str(self.device)
        )
        self._no_detector_reason = (
            "no face detector was chosen (face_detector=None)"
            if face_detector is None
            else 'no face detector is installed (MTCNN needs facenet-pytorch: pip install "disentangle-fas[video]")'
        )
        self.threshold_strategy = "given"
        self.info: dict[str, Any] = {}
        self._warned_whole_image = False

    @classmethod
    def from_checkpoint(
        cls,
        path: str | os.PathLike[str],
        device: str | torch.device | None = None,
        face_detector: FaceDetectorSpec = "auto",
        *,
        threshold: float | None = None,
        builder: Builder | None = None,
        **kwargs: Any,
    ) -> LivenessDetector:
        """Load a checkpoint written by :mod:`disentangle_fas.checkpoint`.

        Args:
            path: the ``.safetensors`` checkpoint (full model or liveness-only).
            device: torch device; ``None`` picks CUDA when available.
            face_detector: see the class docstring.
            threshold: overrides the checkpoint's stored threshold.
            builder: rebuilds a custom model from its stored config (see
                :func:`~disentangle_fas.checkpoint.load_model`).
            **kwargs: other constructor arguments (``num_frames``, ``batch_size``,
                ``image_size``, ...). Without ``image_size`` the checkpoint's stored input
                size is used; a file that stores none needs ``image_size``.

        Returns:
            The detector, deciding at the stored threshold unless overridden.

        Raises:
            FileNotFoundError: no such file.
            CheckpointError: the file is not a disentangle-fas checkpoint, or stores no
                input size and ``image_size`` was not given.
        """
        loaded = load_checkpoint(path, builder=builder)
        if kwargs.get("image_size") is None:
            kwargs["image_size"] = checkpoint_image_size(loaded, path)
        det = cls(
            loaded.model,
            threshold=loaded.threshold if threshold is None else threshold,
            device=device,
            face_detector=face_detector,
            **kwargs,
        )
        det.threshold_strategy = "given" if threshold is not None else loaded.threshold_strategy
        det.info = loaded.info
        return det

    def __repr__(self) -> str:
        detector = type(self.face_detector).__name__ if self.face_detector else None
        return (
            f"LivenessDetector(device={self.device}, image_size={self.image_size}, "
            f"threshold={self.threshold:.4g}, face_detector={detector})"
        )

    # --- scoring ---------------------------------------------------------------------------

    def score_crops(self, batch: Tensor) -> Tensor:
        """Return P(live) of face crops, in chunks of ``batch_size``, without gradients.

        Args:
            batch: ``(B, 3, H, W)`` float in ``[0, 1]`` (or uint8 in ``[0, 255]``); resized
                (bilinear, antialiased) to ``image_size`` when needed.

        Returns:
            ``(B,)`` float32 scores on the CPU.

        Raises:
            TypeError: not a tensor.
            ValueError: wrong shape, or float values outside ``[0, 1]``.

        Shape:
            - Input: ``(B, 3, H, W)``.
            - Output: ``(B,)``.
        """
        batch = as_image_batch(batch)
        out: list[Tensor] = []
        with torch.inference_mode():
            for chunk in torch.split(batch, self.batch_size):
                x = chunk.to(self.device, torch.float32)
                if x.shape[-2:] != (self.image_size, self.image_size):
                    x = F.interpolate(
                        x,
                        size=(self.image_size, self.image_size),
                        mode="bilinear",
                        align_corners=False,
                        antialias=True,
                    ).clamp_(0.0, 1.0)
                out.append(self.model.live_score(x).float().cpu())
        return torch.cat(out) if out else torch.empty(0)

    def _warn_whole_image(self) -> None:
        if not self._warned_whole_image:
            self._warned_whole_image = True
            warnings.warn(
                f"{self._no_detector_reason} and no box was given: scoring the whole image, "
                "which is reliable only when the image is a face crop",
                NoFaceDetectorWarning,
                stacklevel=_caller_stacklevel(),
            )

    def _locate(
        self,
        rgb: NDArray[np.uint8],
        box: Sequence[float] | None,
        source: str | None,
        frame_index: int | None = None,
    ) -> _Pending:
        h, w = rgb.shape[:2]
        if box is not None:
            b = validate_box(box, w, h)
            return _Pending(
                crop_face(rgb, b, self.image_size, scale=self.crop_scale),
                b,
                "box",
                source,
                frame_index,
            )
        if self.face_detector is not None:
            found = self.face_detector(rgb)
            try:
                detected = validate_box(found, w, h) if found is not None else None
            except ValueError:  # a degenerate box counts as no face
                detected = None
            if detected is None:
                return _Pending(None, None, "none", source, frame_index)
            crop = crop_face(rgb, detected, self.image_size, scale=self.crop_scale)
            return _Pending(crop, detected, "detected", source, frame_index)
        if min(h, w) < MIN_FACE_SIDE:  # too small to hold a face: nothing to score
            return _Pending(None, None, "none", source, frame_index)
        self._warn_whole_image()
        whole = (0.0, 0.0, float(w), float(h))
        return _Pending(
            resize_image(rgb, self.image_size), whole, "whole-image", source, frame_index
        )

    def _finish(self, pending: Sequence[_Pending]) -> list[LivenessResult]:
        crops = [p.crop for p in pending if p.crop is not None]
        scores: list[float] = []
        if crops:
            batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)
            scores = self.score_crops(batch).tolist()
        it = iter(scores)
        results = []
        for p in pending:
            score = next(it) if p.crop is not None else math.nan
            results.append(
                LivenessResult(
                    p_live=score,
                    is_live=decide(score, self.threshold),
                    threshold=self.threshold,
                    box=p.box,
                    face_found=p.region in ("detected", "box"),
                    region=p.region,
                    source=p.source,
                    frame_index=p.frame_index,
                )
            )
        return results

    # --- public entry points ---------------------------------------------------------------

    def predict_tensor(self, batch: Tensor) -> list[LivenessResult]:
        """Score a batch of face crops (no detection; each image is taken as the face).

        Args:
            batch: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            One result per image, ``region="input"``.

        Shape:
            - Input: ``(B, 3, H, W)``.
        """
        scores = self.score_crops(batch).tolist()
        h, w = (float(v) for v in batch.shape[-2:])
        return [
            LivenessResult(
                s, decide(s, self.threshold), self.threshold, (0.0, 0.0, w, h), True, "input"
            )
            for s in scores
        ]

    def predict_images(
        self,
        images: Sequence[ImageLike],
        *,
        boxes: Sequence[Sequence[float] | None] | None = None,
    ) -> list[LivenessResult]:
        """Score several images in batches.

        Args:
            images: image files, PIL images or numpy arrays (see
                :func:`~disentangle_fas.inference.io.to_rgb_array`).
            boxes: optional face box per image (``None`` entries use the detector).

        Returns:
            One result per image.

        Raises:
            FileNotFoundError: a missing file.
            InputError: an unreadable image file.
            ValueError: a video path (use :meth:`predict_video`), a bad array or box.
        """
        if boxes is not None and len(boxes) != len(images):
            raise ValueError(f"got {len(boxes)} boxes for {len(images)} images")
        pending = []
        for i, image in enumerate(images):
            source = None
            if isinstance(image, str | os.PathLike):
                if is_video_path(image):
                    raise ValueError(
                        f"{image} is a video: use predict_video() or call the detector"
                    )
                source = str(image)
                rgb = load_image(image)
            else:
                rgb = to_rgb_array(image)
            pending.append(self._locate(rgb, None if boxes is None else boxes[i], source))
        return self._finish(pending)

    def predict_image(
        self, image: ImageLike, *, box: Sequence[float] | None = None
    ) -> LivenessResult:
        """Score one image; see :meth:`predict_images`."""
        return self.predict_images([image], boxes=[box])[0]

    def predict_video(
        self,
        path: str | os.PathLike[str],
        *,
        num_frames: int | None = None,
        box: Sequence[float] | None = None,
    ) -> VideoResult:
        """Score evenly spread frames of a video and average their scores.

        Args:
            path: the video file (decoded with PyAV).
            num_frames: frames to sample (default: the detector's ``num_frames``).
            box: a face box used for every frame instead of the detector.

        Returns:
            Per-frame results and the mean score of the frames that were scored.

        Raises:
            ImportError: PyAV is not installed.
            FileNotFoundError: no such file.
            InputError: an unreadable video.
        """
        indices, frames = read_video_frames(path, num_frames or self.num_frames)
        source = str(path)
        pending = [self._locate(f, box, source, i) for i, f in zip(indices, frames, strict=True)]
        return VideoResult.aggregate(tuple(self._finish(pending)), self.threshold, source)

    @overload
    def __call__(
        self, inputs: Tensor, *, box: None = None, num_frames: int | None = None
    ) -> list[LivenessResult]: ...
    @overload
    def __call__(
        self,
        inputs: Image.Image | NDArray[Any],
        *,
        box: Sequence[float] | None = None,
        num_frames: int | None = None,
    ) -> LivenessResult: ...
    @overload
    def __call__(
        self,
        inputs: str | os.PathLike[str],
        *,
        box: Sequence[float] | None = None,
        num_frames: int | None = None,
    ) -> LivenessResult | VideoResult: ...
    @overload
    def __call__(
        self,
        inputs: list[ImageLike],
        *,
        box: Sequence[float] | None = None,
        num_frames: int | None = None,
    ) -> list[LivenessResult | VideoResult]: ...
    def __call__(
        self,
        inputs: Tensor | ImageLike | list[ImageLike],
        *,
        box: Sequence[float] | None = None,
        num_frames: int | None = None,
    ) -> LivenessResult | VideoResult | list[LivenessResult] | list[LivenessResult | VideoResult]:
        """Score an image, a video, a list of them, or a tensor batch of face crops.

        Args:
            inputs: an image path, a video path (by suffix), a PIL image, an ``(H, W)``,
                ``(H, W, 3)`` or ``(H, W, 4)`` numpy array, a list of those, or a
                ``(B, 3, H, W)`` tensor in ``[0, 1]`` of face crops.
            box: a face box ``(x0, y0, x1, y1)`` used instead of the detector (for every
                input and frame).
            num_frames: frames sampled per video.

        Returns:
            :class:`LivenessResult` for an image, :class:`VideoResult` for a video, a list
            for a list or a tensor batch.
        """
        if isinstance(inputs, Tensor):
            if box is not None:
                raise ValueError("box is not used with tensor batches (they are face crops)")
            return self.predict_tensor(inputs)
        if isinstance(inputs, list):
            out: list[LivenessResult | VideoResult] = []
            images = [x for x in inputs if not _is_video(x)]
            scored = iter(self.predict_images(images, boxes=[box] * len(images)))
            for x in inputs:
                if _is_video(x):
                    assert isinstance(x, str | os.PathLike)
                    out.append(self.predict_video(x, num_frames=num_frames, box=box))
                else:
                    out.append(next(scored))
            return out
        if _is_video(inputs):
            assert isinstance(inputs, str | os.PathLike)
            return self.predict_video(inputs, num_frames=num_frames, box=box)
        return self.predict_image(inputs, box=box)


def _caller_stacklevel() -> int:
    """Return the ``stacklevel`` pointing at the first frame outside this package."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame: FrameType | None = sys._getframe(2)  # frame 2 is stacklevel 2 of the warning
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def _is_video(x: object) -> bool:
    return isinstance(x, str | os.PathLike) and is_video_path(x)
