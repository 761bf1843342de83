"""A fast fallback face detector: OpenCV's bundled Haar cascade (optional extra ``opencv``).

The cascade file ships inside the ``opencv-python(-headless)`` 4.x wheels
(``cv2.data.haarcascades``; OpenCV 5 no longer has them), so nothing is downloaded. It is several times faster than
MTCNN on a CPU and finds frontal faces only; it returns the largest face.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.types import Box

__all__ = ["CASCADE_FILE", "HaarFaceDetector", "require_cv2"]

#: The cascade used: OpenCV's frontal-face model.
CASCADE_FILE = "haarcascade_frontalface_default.xml"

_EXTRA = 'pip install "disentangle-fas[opencv]"'


def require_cv2() -> Any:
    """Import OpenCV (``cv2``) or raise an ImportError naming the extra to install."""
    try:
        import cv2
    except ImportError as err:
        raise ImportError(f"the Haar cascade face detector needs OpenCV: {_EXTRA}") from err
    return cv2


class HaarFaceDetector:
    """The largest frontal face found by OpenCV's bundled Haar cascade.

    Args:
        min_face_size: smallest face looked for, in pixels of the image it is given.
        scale_factor: the cascade's image pyramid step.
        min_neighbors: overlapping detections a face needs (higher: fewer false faces).

    Raises:
        ImportError: OpenCV (4.x) is not installed.
        RuntimeError: the installed OpenCV has no bundled cascade.
        ValueError: a parameter out of range.
    """

    def __init__(
        self, *, min_face_size: int = 20, scale_factor: float = 1.15, min_neighbors: int = 4
    ) -> None:
        if min_face_size < 1 or scale_factor <= 1.0 or min_neighbors < 0:
            raise ValueError("min_face_size >= 1, scale_factor > 1 and min_neighbors >= 0 needed")
        cv2 = require_cv2()
        if not hasattr(cv2, "CascadeClassifier"):
            raise ImportError(
                f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 dropped them); "
                f"install OpenCV 4: {_EXTRA}"
            )
        path = Path(getattr(getattr(cv2, "data", None), "haarcascades", "")) / CASCADE_FILE
        classifier = cv2.CascadeClassifier(str(path)) if path.is_file() else None
        if classifier is None or classifier.empty():
            raise RuntimeError(
                f"OpenCV's bundled {CASCADE_FILE} was not found (cv2.data.haarcascades); "
                f"reinstall it: {_EXTRA}"
            )
        self._cv2 = cv2
        self._classifier: Any = classifier
        self.min_face_size = int(min_face_size)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)

    def __call__(self, image: NDArray[np.uint8], /) -> Box | None:
        """Return the largest face box of an ``(H, W, 3)`` uint8 RGB image, or ``None``."""
        if min(image.shape[:2]) < self.min_face_size:
            return None
        gray = self._cv2.cvtColor(np.ascontiguousarray(image), self._cv2.COLOR_RGB2GRAY)
        found = self._classifier.detectMultiScale(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face_size, self.min_face_size),
        )
        if len(found) == 0:
            return None
        x, y, w, h = (float(v) for v in max(found, key=lambda r: int(r[2]) * int(r[3])))
        return (x, y, x + w, y + h)
