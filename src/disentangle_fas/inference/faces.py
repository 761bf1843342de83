"""Finding and cropping the face: MTCNN (facenet-pytorch, optional), given boxes, crops.

Crops follow the library's preprocessing: a square centred on the face box, of side
``crop_scale * max(w, h)`` (1.2 by default), parts outside the image black, resized
bilinearly to the model's input size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas.inference.results import Box

__all__ = [
    "DEFAULT_CROP_SCALE",
    "DETECTION_MAX_SIDE",
    "MIN_FACE_SIDE",
    "FaceDetector",
    "FaceDetectorSpec",
    "MTCNNFaceDetector",
    "crop_face",
    "resize_image",
    "resolve_face_detector",
    "validate_box",
]

#: Enlargement of the face box before cropping (the preprocessing default).
DEFAULT_CROP_SCALE = 1.2

#: Longest side of the copy an image is reduced to before MTCNN looks at it: detection
#: memory stays bounded (a few hundred MB) whatever the input size.
DETECTION_MAX_SIDE = 1024

#: Images whose shorter side is below this many pixels hold no face the model can judge:
#: without a box they are a "no face" result (MTCNN's default smallest face, too).
MIN_FACE_SIDE = 20

_EXTRA = 'pip install "disentangle-fas[video]"'


class FaceDetector(Protocol):
    """Anything that finds the main face of an ``(H, W, 3)`` uint8 RGB image."""

    def __call__(self, image: NDArray[np.uint8], /) -> Box | None:
        """Return the face box ``(x0, y0, x1, y1)`` in pixels, or ``None`` when there is none."""
        ...


#: What :func:`resolve_face_detector` accepts.
FaceDetectorSpec = Literal["auto", "mtcnn"] | FaceDetector | Callable[..., Any] | None


class MTCNNFaceDetector:
    """MTCNN from facenet-pytorch 2.5.x (which ships its weights): the most confident face.

    Args:
        device: torch device for the detector.
        min_face_size: smallest face looked for, in pixels.
        thresholds: MTCNN's three stage thresholds.
        min_confidence: faces below this probability are ignored.
        max_side: larger images are reduced to this longest side (bilinear) for detection
            and the box is scaled back; faces then need ``min_face_size`` pixels in the
            reduced copy.

    Raises:
        ImportError: facenet-pytorch is not installed.
    """

    def __init__(
        self,
        device: str = "cpu",
        *,
        min_face_size: int = MIN_FACE_SIDE,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        min_confidence: float = 0.9,
        max_side: int = DETECTION_MAX_SIDE,
    ) -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as err:
            raise ImportError(
                "face detection uses MTCNN from facenet-pytorch>=2.5.3,<2.6: "
                f"{_EXTRA} (or pass face_detector=None and give boxes)"
            ) from err
        self.min_confidence = float(min_confidence)
        self.min_face_size = int(min_face_size)
        self.max_side = int(max_side)
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
            The box, or ``None`` when no face reaches ``min_confidence`` (always for an image
            whose shorter side is below ``min_face_size``: it cannot hold such a face).
        """
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w, 1))
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
        b = np.asarray(boxes.tolist(), dtype=np.float64).reshape(-1, 4)
        p = np.asarray([np.nan if v is None else v for v in np.ravel(probs)], dtype=np.float64)
        ok = np.isfinite(p) & np.isfinite(b).all(axis=1) & (p >= self.min_confidence)
        if not ok.any():
            return None
        best = int(np.argmax(np.where(ok, p, -np.inf)))
        sx, sy = w / pil.size[0], h / pil.size[1]  # 1 when not reduced
        x0, y0, x1, y1 = (float(v) for v in b[best])
        return (x0 * sx, y0 * sy, x1 * sx, y1 * sy)


def resolve_face_detector(spec: FaceDetectorSpec, device: str = "cpu") -> FaceDetector | None:
    """Turn a detector choice into a detector.

    Args:
        spec: ``"auto"`` (MTCNN when facenet-pytorch is installed, else ``None``),
            ``"mtcnn"`` (MTCNN, or ImportError), ``None`` (no detector), or a callable
            ``image -> box | None`` used as is.
        device: torch device for MTCNN.

    Returns:
        The detector, or ``None``.

    Raises:
        ImportError: ``"mtcnn"`` without facenet-pytorch.
        ValueError: an unknown string.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec == "mtcnn":
            return MTCNNFaceDetector(device)
        if spec == "auto":
            try:
                return MTCNNFaceDetector(device)
            except ImportError:
                return None
        raise ValueError(f"face_detector must be 'auto', 'mtcnn', None or a callable, got {spec!r}")
    if not callable(spec):
        raise TypeError(f"face_detector must be 'auto', 'mtcnn', None or a callable, got {spec!r}")
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


def crop_face(
    image: NDArray[np.uint8], box: Box, size: int, *, scale: float = DEFAULT_CROP_SCALE
) -> NDArray[np.uint8]:
    """Cut a square around a face box and resize it.

    The square is centred on the box, its side ``scale * max(w, h)`` (rounded); parts
    outside the image are black. This is :func:`disentangle_fas.data.faces.crop_face`, the
    crop of the preprocessing, so inference sees faces framed as in training.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        box: ``(x0, y0, x1, y1)`` in pixels.
        size: output side in pixels.
        scale: enlargement of the box (1 = the box itself).

    Returns:
        ``(size, size, 3)`` uint8 RGB.

    Raises:
        ValueError: bad image shape, empty box, or non-positive ``scale`` / ``size``.
    """
    # One crop rule for training crops and inference crops: the preprocessing's own.
    from disentangle_fas.data.faces import crop_face as _crop

    return _crop(image, box, scale=scale, size=size)
