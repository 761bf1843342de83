"""Procedural backgrounds (walls, rooms, clutter, outdoors) in linear RGB."""

from __future__ import annotations

import numpy as np

from disentangle_fas.synthetic.imageops import (
    f32,
    gaussian_blur,
    resize,
    smoothstep,
    srgb_to_linear,
    value_noise,
)

__all__ = ["BACKGROUND_STYLES", "render_background"]

#: Background styles a domain can draw from.
BACKGROUND_STYLES: tuple[str, ...] = ("plain", "room", "clutter", "outdoor")


def _jitter(rng: np.random.Generator, colour: np.ndarray, amount: float) -> np.ndarray:
    return np.clip(colour * rng.uniform(1 - amount, 1 + amount, 3), 0.0, 1.0)


def _rect(
    xx: np.ndarray, yy: np.ndarray, x0: float, x1: float, y0: float, y1: float, soft: float
) -> np.ndarray:
    return f32(
        smoothstep(x0 - soft, x0 + soft, xx)
        * smoothstep(x1 + soft, x1 - soft, xx)
        * smoothstep(y0 - soft, y0 + soft, yy)
        * smoothstep(y1 + soft, y1 - soft, yy)
    )


def render_background(
    rng: np.random.Generator,
    size: int,
    style: str,
    palette: tuple[tuple[float, float, float], ...],
    brightness: float,
    blur: float,
) -> np.ndarray:
    """Render a background scene.

    Args:
        rng: random generator.
        size: side of the square image (world pixels).
        style: one of :data:`BACKGROUND_STYLES`.
        palette: wall colours (sRGB) to draw from.
        brightness: overall radiance multiplier (the scene's illumination level).
        blur: depth-of-field blur in world pixels.

    Returns:
        ``(size, size, 3)`` float32 linear RGB.

    Raises:
        ValueError: unknown style.
    """
    if style not in BACKGROUND_STYLES:
        raise ValueError(f"unknown background style {style!r}; choose from {BACKGROUND_STYLES}")
    full = size
    size = max(16, full // 2)  # rendered at half resolution: it is out of focus anyway
    blur = blur * size / full
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    xx, yy = np.meshgrid(c, c)
    wall = _jitter(rng, np.asarray(palette[rng.integers(len(palette))], dtype=np.float32), 0.12)
    wall2 = _jitter(rng, wall, 0.25)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0.0, 1.0)
    img = wall * (1 - ramp[..., None]) + wall2 * ramp[..., None]
    img = img * (1.0 + 0.06 * value_noise(rng, size, size, 4))[..., None]
    if style == "room":
        for _ in range(int(rng.integers(2, 5))):
            x0, y0 = rng.uniform(-0.2, 0.9, 2)
            w, h = rng.uniform(0.1, 0.6, 2)
            col = rng.uniform(0.05, 0.9, 3) if rng.random() < 0.5 else _jitter(rng, wall, 0.4)
            if rng.random() < 0.25:  # a window: bright and bluish
                col = np.array([0.9, 0.95, 1.0]) * rng.uniform(1.3, 2.2)
            m = _rect(xx, yy, x0, x0 + w, y0, y0 + h, 0.008)[..., None]
            img = img * (1 - m) + m * col
            frame = _rect(xx, yy, x0 - 0.015, x0 + w + 0.015, y0 - 0.015, y0 + h + 0.015, 0.003)
            border = (frame - _rect(xx, yy, x0, x0 + w, y0, y0 + h, 0.003))[..., None]
            img = img * (1 - 0.6 * border)
    elif style == "clutter":
        for _ in range(int(rng.integers(8, 20))):
            cx, cy = rng.uniform(0, 1, 2)
            rx, ry = rng.uniform(0.03, 0.25, 2)
            soft = 0.008
            col = rng.uniform(0.03, 0.95, 3)
            if rng.random() < 0.5:
                m = _rect(xx, yy, cx - rx, cx + rx, cy - ry, cy + ry, soft)
            else:
                m = smoothstep(1.05, 0.95, np.hypot((xx - cx) / rx, (yy - cy) / ry))
            img = img * (1 - m[..., None]) + m[..., None] * col
    elif style == "outdoor":
        horizon = rng.uniform(0.3, 0.7)
        sky = np.array([0.55, 0.7, 0.95]) * rng.uniform(0.9, 1.5)
        sky_m = smoothstep(horizon + 0.05, horizon - 0.05, yy)[..., None]
        leaves = value_noise(rng, size, size, int(rng.integers(5, 12)))
        green = np.array([0.15, 0.35, 0.1]) * rng.uniform(0.6, 1.4, 3)
        foliage = smoothstep(-0.1, 0.2, leaves)[..., None] * (1 - sky_m)
        img = img * (1 - sky_m) + sky_m * sky
        img = img * (1 - foliage) + foliage * green * (1.0 + 0.5 * leaves[..., None])
    lin = srgb_to_linear(np.clip(img, 0.0, 1.0)) * (1.0 + np.maximum(img - 1.0, 0.0))
    return resize(gaussian_blur(lin * brightness, blur), full, full)
