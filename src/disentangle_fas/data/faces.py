"""Face detection and face crops: one detector contract, one MTCNN wrapper, one crop rule.

MTCNN comes from facenet-pytorch 2.5.x, an optional dependency. Preprocessing and
inference use the same :class:`MTCNNFaceDetector` and the same :func:`crop_face`, so
inference sees faces framed as in training; where they differ (the confidence a face
needs, whether large images are reduced before detection) the difference is a
constructor parameter.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas.limits import check_memory
from disentangle_fas.types import Box

__all__ = [
    "DEFAULT_CROP_SCALE",
    "DETECTION_MAX_SIDE",
    "DETECTOR_CHOICES",
    "MAX_CROP_FACTOR",
    "MIN_FACE_SIDE",
    "FaceDetector",
    "MTCNNFaceDetector",
    "add_detector_option",
    "crop_face",
    "orient",
]

#: Enlargement of the face box before cropping (the preprocessing default).
DEFAULT_CROP_SCALE = 1.2

#: Longest side of the copy an image is reduced to before MTCNN looks at it, by default:
#: detection memory stays bounded (a few hundred MB) whatever the input size.
DETECTION_MAX_SIDE = 1024

#: Images whose shorter side is below this many pixels hold no face the model can judge
#: (MTCNN's default smallest face, too).
MIN_FACE_SIDE = 20

#: The face-detector choices of the command lines: ``auto`` (the default; when MTCNN is
#: used is the command's own rule), ``mtcnn`` and ``none``.
DETECTOR_CHOICES = ("auto", "mtcnn", "none")

_VIDEO_EXTRA = 'pip install "disentangle-fas[video]"'


class FaceDetector(Protocol):
    """Anything that finds the main face of an ``(H, W, 3)`` uint8 RGB image."""

    def __call__(self, image: NDArray[np.uint8], /) -> Box | None:
        """Return the face box ``(x0, y0, x1, y1)`` in pixels, or ``None`` when there is none."""
        ...


class MTCNNFaceDetector:
    """MTCNN from facenet-pytorch 2.5.x (which ships its weights): the most confident face.

    Preprocessing builds it with ``min_confidence=0.0, max_side=None`` (every face MTCNN
    accepts, full-resolution frames); inference uses the defaults.

    Args:
        device: torch device for the detector.
        min_face_size: smallest face looked for, in pixels.
        thresholds: MTCNN's three stage thresholds.
        min_confidence: faces below this probability are ignored (0 keeps every face
            MTCNN's stage thresholds let through).
        max_side: larger images are reduced to this longest side (bilinear) for detection
            and the box is scaled back; faces then need ``min_face_size`` pixels in the
            reduced copy. ``None``: never reduce.

    Raises:
        ImportError: facenet-pytorch is not installed.
        ValueError: ``min_confidence`` outside ``[0, 1]`` or a non-positive ``max_side``.
    """

    def __init__(
        self,
        device: str = "cpu",
        *,
        min_face_size: int = MIN_FACE_SIDE,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        min_confidence: float = 0.9,
        max_side: int | None = DETECTION_MAX_SIDE,
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
        if max_side is not None and max_side <= 0:
            raise ValueError(f"max_side must be positive or None, got {max_side}")
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise ImportError(
                "face detection (needed for CASIA-FASD, lists without boxes and images "
                f"without a box) uses MTCNN from facenet-pytorch>=2.5.3,<2.6: {_VIDEO_EXTRA}"
            ) from err
        self.min_confidence = float(min_confidence)
        self.min_face_size = int(min_face_size)
        self.max_side = None if max_side is None else int(max_side)
        self._mtcnn: Any = MTCNN(
            keep_all=True,
            device=device,
            min_face_size=min_face_size,
            thresholds=list(thresholds),
            post_process=False,
        )

    def __call__(self, image: NDArray[np.uint8], /) -> Box | None:
        """Detect faces and return the most confident box, or ``None``.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            The box in ``image`` pixels, or ``None`` when no face reaches
            ``min_confidence`` (always for an image whose shorter side, after any
            reduction, is below ``min_face_size``: it cannot hold such a face).
        """
        h, w = image.shape[:2]
        scale = 1.0 if self.max_side is None else min(1.0, self.max_side / max(h, w, 1))
        pil = Image.fromarray(image)
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            pil = pil.resize(size, Image.Resampling.BILINEAR)
        if min(pil.size) < self.min_face_size:
            return None
        boxes, probs = self._mtcnn.detect(pil)
        if boxes is None or probs is None:
            return None
        # With numpy 2, facenet-pytorch returns object arrays (and [None] for no face): cast.
        b = np.asarray(np.asarray(boxes).tolist(), dtype=np.float64).reshape(-1, 4)
        p = np.asarray([np.nan if v is None else v for v in np.ravel(probs)], dtype=np.float64)
        ok = np.isfinite(p) & np.isfinite(b).all(axis=1) & (p >= self.min_confidence)
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, p, -np.inf)))
        sx, sy = w / pil.size[0], h / pil.size[1]  # 1 when not reduced
        x0, y0, x1, y1 = (float(v) for v in b[best])
        return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def add_detector_option(parser: argparse.ArgumentParser, flag: str, auto: str) -> None:
    """Add a command line's face-detector option: one of :data:`DETECTOR_CHOICES`,
    ``auto`` by default.

    Args:
        parser: the command's parser.
        flag: the option, e.g. ``"--detector"``.
        auto: what ``auto`` means for this command (the help text says ``auto: <auto>``).
    """
    parser.add_argument(flag, choices=DETECTOR_CHOICES, default="auto", help=f"auto: {auto}")


#: The largest crop side ``crop_face`` accepts, in multiples of the image's larger side.
MAX_CROP_FACTOR = 8


def crop_face(
    image: NDArray[np.uint8], box: Box, size: int = 256, *, scale: float = DEFAULT_CROP_SCALE
) -> NDArray[np.uint8]:
    """Cut a square around a face box and resize it.

    The square is centred on the box, its side ``scale * max(w, h)`` (rounded); parts
    outside the image are black; it is resized bilinearly. Preprocessing and inference
    both crop with this function.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        box: ``(x0, y0, x1, y1)`` in pixels.
        size: output side in pixels.
        scale: enlargement of the box (1 = the box itself).

    Returns:
        ``(size, size, 3)`` uint8 RGB.

    Raises:
        ValueError: bad image shape, empty box, non-positive ``scale`` / ``size``, or a
            crop more than :data:`MAX_CROP_FACTOR` times the image's larger side (its black
            canvas would be allocated first).
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {image.shape}")
    if scale <= 0 or size <= 0:
        raise ValueError(f"scale and size must be positive, got {scale} and {size}")
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if not (w > 0 and h > 0):
        raise ValueError(f"empty face box {box}")
    side = max(1, round(max(w, h) * scale))
    height, width = image.shape[:2]
    if side > MAX_CROP_FACTOR * max(height, width, 1):
        raise ValueError(
            f"face box {box} is far larger than the {width}x{height} image (a crop side of "
            f"{side} px, more than {MAX_CROP_FACTOR}x the image): boxes are in the image's "
            "pixels"
        )
    # The canvas and its resized copy, before either is allocated.
    check_memory(2 * side * side * 3, f"cropping the {side}x{side} face box {box}")
    left = round((x0 + x1) / 2 - side / 2)
    top = round((y0 + y1) / 2 - side / 2)
    out = np.zeros((side, side, 3), dtype=np.uint8)
    sx0, sy0 = max(left, 0), max(top, 0)
    sx1, sy1 = min(left + side, width), min(top + side, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = image[sy0:sy1, sx0:sx1]
    if side != size:
        resized = Image.fromarray(out).resize((size, size), Image.Resampling.BILINEAR)
        out = np.asarray(resized, dtype=np.uint8)
    return out


def orient(image: NDArray[np.uint8], rotation: int) -> NDArray[np.uint8]:
    """Rotate an image counter-clockwise by ``rotation`` degrees (a multiple of 90).

    Args:
        image: ``(H, W, C)``.
        rotation: degrees, counter-clockwise (PyAV's ``VideoFrame.rotation``).

    Returns:
        The rotated image (contiguous).
    """
    turns = round(rotation / 90) % 4
    if turns == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=turns))
