"""Face crops and face detection (MTCNN from facenet-pytorch, an optional dependency)."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas.data.annotations import Box

__all__ = ["FaceDetector", "MTCNNDetector", "crop_face", "orient"]

_VIDEO_EXTRA = 'pip install "disentangle-fas[video]"'


class FaceDetector(Protocol):
    """Anything that finds the main face of an RGB ``(H, W, 3)`` uint8 image."""

    def __call__(self, image: NDArray[np.uint8]) -> Box | None:
        """Return the face box ``(x0, y0, x1, y1)`` in pixels, or ``None``."""
        ...


class MTCNNDetector:
    """MTCNN (facenet-pytorch 2.5.x, which ships its weights) returning the most confident face.

    Args:
        device: torch device for the detector.
        min_face_size: smallest face MTCNN looks for, in pixels.
        thresholds: MTCNN's three stage thresholds.

    Raises:
        ImportError: facenet-pytorch is not installed.
    """

    def __init__(
        self,
        device: str = "cpu",
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
    ) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise ImportError(
                "face detection (needed for CASIA-FASD and lists without boxes) uses MTCNN "
                f"from facenet-pytorch>=2.5.3,<2.6: {_VIDEO_EXTRA}"
            ) from err
        self._mtcnn: Any = MTCNN(
            keep_all=True,
            device=device,
            min_face_size=min_face_size,
            thresholds=list(thresholds),
            post_process=False,
        )
        self.min_face_size = int(min_face_size)

    def __call__(self, image: NDArray[np.uint8]) -> Box | None:
        """Detect faces and return the most confident box, or ``None``.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.

        Returns:
            The box, or ``None`` when no face is found (always for an image whose shorter
            side is below ``min_face_size``: it cannot hold a face MTCNN looks for).
        """
        if min(image.shape[:2]) < self.min_face_size:
            return None
        boxes, probs = self._mtcnn.detect(Image.fromarray(image))
        if boxes is None or probs is None:
            return None
        # With numpy 2, facenet-pytorch can return object arrays: cast.
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        p = np.asarray(probs, dtype=np.float64).reshape(-1)
        ok = np.isfinite(p) & np.isfinite(b).all(axis=1)
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, p, -np.inf)))
        x0, y0, x1, y1 = (float(v) for v in b[best])
        return (x0, y0, x1, y1)


def crop_face(
    image: NDArray[np.uint8], box: Box, *, scale: float = 1.2, size: int = 256
) -> NDArray[np.uint8]:
    """Cut a square around a face box and resize it.

    The square is centred on the box, its side ``scale * max(w, h)``; parts outside the
    image are black.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        box: ``(x0, y0, x1, y1)`` in pixels.
        scale: enlargement of the box (1 = the box itself).
        size: output side in pixels.

    Returns:
        ``(size, size, 3)`` uint8 RGB.

    Raises:
        ValueError: bad image shape, empty box, or non-positive ``scale`` / ``size``.
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
    left = round((x0 + x1) / 2 - side / 2)
    top = round((y0 + y1) / 2 - side / 2)
    height, width = image.shape[:2]
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
