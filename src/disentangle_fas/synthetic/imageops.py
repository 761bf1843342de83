"""Small vectorised image operations on ``(H, W)`` / ``(H, W, C)`` float32 numpy arrays."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

__all__ = [
    "f32",
    "gaussian_blur",
    "jpeg_roundtrip",
    "linear_to_srgb",
    "resize",
    "sample_bilinear",
    "smoothstep",
    "srgb_to_linear",
    "value_noise",
]

FloatArray = np.ndarray
Edge = float | np.ndarray


def f32(x: object) -> np.ndarray:
    """Return ``x`` as a float32 numpy array (no copy when it already is one)."""
    return np.asarray(x, dtype=np.float32)


def smoothstep(edge0: Edge, edge1: Edge, x: FloatArray) -> FloatArray:
    """Hermite step from 0 (at ``edge0``) to 1 (at ``edge1``); ``edge0 > edge1`` reverses it."""
    span = np.asarray(edge1 - edge0, dtype=np.float32)
    span = np.where(span == 0, np.float32(1e-9), span)
    t = np.clip((x - edge0) / span, 0.0, 1.0)
    return f32(t * t * (3.0 - 2.0 * t))


def srgb_to_linear(x: FloatArray) -> FloatArray:
    """Approximate sRGB decoding (power 2.2) of values in ``[0, 1]``."""
    return f32(np.power(np.clip(x, 0.0, 1.0), 2.2))


def linear_to_srgb(x: FloatArray) -> FloatArray:
    """Approximate sRGB encoding (power 1/2.2) of values in ``[0, 1]``."""
    return f32(np.power(np.clip(x, 0.0, 1.0), 1.0 / 2.2))


def gaussian_blur(img: FloatArray, sigma: float) -> FloatArray:
    """Separable Gaussian blur with reflected borders (a no-op for ``sigma < 0.3``).

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array.
        sigma: standard deviation in pixels.

    Returns:
        The blurred float32 array, same shape.
    """
    if sigma < 0.3:
        return img.astype(np.float32, copy=False)
    radius = max(1, int(np.ceil(3.0 * sigma)))
    taps = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    out = img.astype(np.float32, copy=False)
    for axis in (0, 1):
        radius_ax = min(radius, out.shape[axis] - 1)
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius_ax, radius_ax)
        padded = np.pad(out, pad, mode="reflect")
        acc = np.zeros_like(out)
        n = out.shape[axis]
        weights = kernel[radius - radius_ax : radius + radius_ax + 1]
        for k, w in zip(range(-radius_ax, radius_ax + 1), weights, strict=True):
            sl = [slice(None)] * out.ndim
            sl[axis] = slice(radius_ax + k, radius_ax + k + n)
            acc += w * padded[tuple(sl)]
        out = acc / kernel[radius - radius_ax : radius + radius_ax + 1].sum()
    return out.astype(np.float32)


def resize(img: FloatArray, height: int, width: int) -> FloatArray:
    """Resize with area averaging when shrinking and bilinear interpolation when enlarging.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` float array.
        height: output height.
        width: output width.

    Returns:
        The resized float32 array.
    """
    if img.shape[0] == height and img.shape[1] == width:
        return img.astype(np.float32, copy=False)
    shrink = height < img.shape[0] or width < img.shape[1]
    method = Image.Resampling.BOX if shrink else Image.Resampling.BILINEAR
    if img.ndim == 2:
        pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32))
        return np.asarray(pil.resize((width, height), method), dtype=np.float32)
    chans = [resize(np.ascontiguousarray(img[..., c]), height, width) for c in range(img.shape[2])]
    return np.stack(chans, axis=-1)


def sample_bilinear(img: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Sample ``img`` at continuous pixel coordinates (centres at ``i + 0.5``), clamped.

    Args:
        img: ``(H, W)`` or ``(H, W, C)`` array.
        x: column coordinates, any shape.
        y: row coordinates, same shape as ``x``.

    Returns:
        Samples of shape ``x.shape`` (+ ``(C,)``), float32.
    """
    h, w = img.shape[:2]
    xf = np.clip(np.asarray(x, dtype=np.float32) - 0.5, 0.0, max(w - 1.001, 0.0))
    yf = np.clip(np.asarray(y, dtype=np.float32) - 0.5, 0.0, max(h - 1.001, 0.0))
    x0 = xf.astype(np.int32)
    y0 = yf.astype(np.int32)
    fx = xf - x0
    fy = yf - y0
    flat = img.reshape(h * w, -1) if img.ndim == 3 else img.reshape(h * w)
    i00 = y0 * w + x0
    dx = 1 if w > 1 else 0
    dy = w if h > 1 else 0
    if img.ndim == 3:
        fx = fx[..., None]
        fy = fy[..., None]
    top = flat[i00] * (1 - fx) + flat[i00 + dx] * fx
    bot = flat[i00 + dy] * (1 - fx) + flat[i00 + dy + dx] * fx
    return f32(top * (1 - fy) + bot * fy)


def value_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> FloatArray:
    """Smooth random field in ``[-1, 1]``: a ``cells x cells`` random grid, bilinear upsampled.

    Args:
        rng: random generator.
        height: output height.
        width: output width.
        cells: grid resolution (larger gives finer structure).

    Returns:
        ``(height, width)`` float32 field.
    """
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height * cells + 0.5
    xs = (np.arange(width, dtype=np.float32) + 0.5) / width * cells + 0.5
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return sample_bilinear(grid, xx, yy)


def jpeg_roundtrip(img: FloatArray, quality: int) -> FloatArray:
    """Encode an RGB image in ``[0, 1]`` as JPEG (Pillow, 4:2:0) and decode it again.

    Args:
        img: ``(H, W, 3)`` float array in ``[0, 1]``.
        quality: JPEG quality, 1-100.

    Returns:
        The decoded image as float32 in ``[0, 1]``, same shape.
    """
    u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as dec:
        out = np.asarray(dec.convert("RGB"), dtype=np.float32) / 255.0
    return out
