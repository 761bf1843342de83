"""Decoded images to 8-bit RGB with their real range: one conversion for every reader of
image files (preprocessing, packing, crop datasets, prediction).

Pillow's ``convert("RGB")`` clips the integer modes that hold more than 8 bits (a 16-bit
grayscale PNG opens as ``"I;16"``, values up to 65535) to white, and truncates float
images. :func:`pil_to_rgb8` scales them by their format's range first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["float_to_uint8", "pil_to_rgb8"]

#: Integer modes wider than 8 bits, by Pillow name.
_WIDE_INT = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535}


def float_to_uint8(values: NDArray[Any]) -> NDArray[np.uint8]:
    """Map float intensities to uint8: ``[0, 1]`` (the convention of float images) to
    ``[0, 255]``; NaN becomes 0 and values outside ``[0, 1]`` are clipped.

    Args:
        values: any shape, floating point.

    Returns:
        The same shape, uint8, rounded.
    """
    clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(clean, 0.0, 1.0) * 255.0).astype(np.uint8)


def _wide_to_uint8(values: NDArray[Any], top: int) -> NDArray[np.uint8]:
    return np.rint(values.astype(np.float64) * (255.0 / top)).clip(0, 255).astype(np.uint8)


def pil_to_rgb8(image: Image.Image) -> NDArray[np.uint8]:
    """Convert a decoded Pillow image to a contiguous ``(H, W, 3)`` uint8 RGB array.

    16-bit grayscale (``"I;16*"``) is scaled by 255/65535; 32-bit integer (``"I"``) by the
    range its values need (8, 16 or 32 bits); float (``"F"``) is taken as ``[0, 1]``;
    every other mode (``L``, ``P``, ``RGBA``, ``CMYK``, ``LA``, 48-bit RGB, ...) goes
    through Pillow's own ``convert("RGB")``.

    Args:
        image: the image.

    Returns:
        ``(H, W, 3)`` uint8.
    """
    mode = image.mode
    if mode in _WIDE_INT or mode in ("I", "F"):
        values = np.asarray(image)
        if mode == "F":
            gray = float_to_uint8(values)
        else:
            top = _WIDE_INT.get(mode)
            if top is None:  # "I": 32-bit signed; its range is what the values need
                high = int(values.max(initial=0))
                top = 255 if high <= 255 else 65535 if high <= 65535 else 2**32 - 1
            gray = _wide_to_uint8(np.clip(values, 0, None), top)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    rgb = image if mode == "RGB" else image.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
