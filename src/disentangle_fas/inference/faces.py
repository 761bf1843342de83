"""Choosing the face detector of inference, checking given boxes, resizing whole images.

The detector itself (:class:`~disentangle_fas.data.faces.MTCNNFaceDetector`), its
contract (:class:`~disentangle_fas.data.faces.FaceDetector`) and the crop
(:func:`~disentangle_fas.data.faces.crop_face`) are the preprocessing's own, so inference
sees faces found and framed as in training.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas.data.faces import FaceDetector, MTCNNFaceDetector
from disentangle_fas.types import Box

__all__ = [
    "FaceDetectorSpec",
    "resize_image",
    "resolve_face_detector",
    "validate_box",
]

#: What :func:`resolve_face_detector` accepts.
FaceDetectorSpec = Literal["auto", "mtcnn", "haar"] | FaceDetector | Callable[..., Any] | None


def resolve_face_detector(spec: FaceDetectorSpec, device: str = "cpu") -> FaceDetector | None:
    """Turn a detector choice into a detector.

    Args:
        spec: ``"auto"`` (MTCNN when facenet-pytorch is installed, else ``None``),
            ``"mtcnn"`` (MTCNN, or ImportError), ``"haar"`` (OpenCV's bundled Haar
            cascade, :class:`~disentangle_fas.inference.cascade.HaarFaceDetector`, or
            ImportError), ``None`` (no detector), or a callable ``image -> box | None``
            used as is.
        device: torch device for MTCNN.

    Returns:
        The detector, or ``None``.

    Raises:
        ImportError: ``"mtcnn"`` without facenet-pytorch, ``"haar"`` without OpenCV.
        ValueError: an unknown string.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec == "mtcnn":
            return MTCNNFaceDetector(device)
        if spec == "haar":
            from disentangle_fas.inference.cascade import HaarFaceDetector

            return HaarFaceDetector()
        if spec == "auto":
            try:
                return MTCNNFaceDetector(device)
            except ImportError:
                return None
        raise ValueError(
            f"face_detector must be 'auto', 'mtcnn', 'haar', None or a callable, got {spec!r}"
        )
    if not callable(spec):
        raise TypeError(
            f"face_detector must be 'auto', 'mtcnn', 'haar', None or a callable, got {spec!r}"
        )
    detector: FaceDetector = spec
    return detector


def validate_box(box: Any, width: int, height: int) -> Box:
    """Check a face box against an image and return it as floats.

    Args:
        box: ``(x0, y0, x1, y1)`` in pixels.
        width: image width.
        height: image height.

    Returns:
        The box as a tuple of floats.

    Raises:
        ValueError: not four finite numbers, ``x1 <= x0`` or ``y1 <= y0``, or no overlap
            with the image.
    """
    try:
        values = tuple(float(v) for v in box)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a box must be four numbers (x0, y0, x1, y1), got {box!r}") from exc
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"a box must be four finite numbers (x0, y0, x1, y1), got {box!r}")
    x0, y0, x1, y1 = values
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"a box needs x1 > x0 and y1 > y0, got {values}")
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise ValueError(f"box {values} lies outside the {width}x{height} image")
    return (x0, y0, x1, y1)


def resize_image(image: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Resize to ``size x size`` with bilinear interpolation (no-op at that size already)."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    resized = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8)
