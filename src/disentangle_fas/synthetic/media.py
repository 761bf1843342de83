"""Physical image formation of recapture media.

Placing a flat medium in the scene, a halftone print on paper, and an LCD screen with its
sub-pixel grid and glare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.imageops import (
    f32,
    gaussian_blur,
    sample_bilinear,
    smoothstep,
)

__all__ = [
    "Placement",
    "PrintParams",
    "ScreenParams",
    "glare_map",
    "place_medium",
    "print_reflectance",
    "sample_content",
    "screen_emission",
    "srgb_content",
    "warp_points",
]


@dataclass(frozen=True)
class Placement:
    """Pose of a flat medium (photo, screen) in the camera view.

    The medium's content covers the unit square ``[0, 1]^2`` (the source picture); its
    visible part is ``rect`` (the paper or screen ends there). The content is mapped to the
    camera image by a homography built from a perspective tilt, a scale and rotation about
    the centre and a translation (all in units of the image side).

    Attributes:
        scale: size of the content relative to the image.
        angle: in-plane rotation (degrees).
        shift: ``(dx, dy)`` translation.
        tilt: ``(px, py)`` perspective terms (a paper or screen not parallel to the sensor).
        rect: ``(x0, y0, x1, y1)`` extent of the medium in content coordinates.
        bend: horizontal curvature of a hand-held paper (shading only).
    """

    scale: float
    angle: float
    shift: tuple[float, float]
    tilt: tuple[float, float]
    rect: tuple[float, float, float, float]
    bend: float = 0.0

    def matrix(self) -> np.ndarray:
        """Return the ``(3, 3)`` homography from content to image coordinates."""
        t = np.radians(self.angle)
        centre = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], dtype=np.float64)
        persp = np.array([[1, 0, 0], [0, 1, 0], [self.tilt[0], self.tilt[1], 1]])
        rs = np.array(
            [
                [self.scale * np.cos(t), -self.scale * np.sin(t), 0.5 + self.shift[0]],
                [self.scale * np.sin(t), self.scale * np.cos(t), 0.5 + self.shift[1]],
                [0, 0, 1],
            ]
        )
        return np.asarray(rs @ persp @ centre, dtype=np.float64)


def warp_points(placement: Placement, xy: np.ndarray, size: int) -> np.ndarray:
    """Map pixel coordinates of the content image into the camera image.

    Args:
        placement: the medium's pose.
        xy: ``(K, 2)`` pixel coordinates in the content image.
        size: side of both images (pixels).

    Returns:
        ``(K, 2)`` pixel coordinates in the camera image.
    """
    h = placement.matrix()
    pts = np.concatenate([xy / size, np.ones((xy.shape[0], 1))], axis=1) @ h.T
    return f32(pts[:, :2] / pts[:, 2:3] * size)


def place_medium(
    placement: Placement, size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compute, for every camera pixel, where it sees the medium.

    Args:
        placement: the medium's pose.
        size: image side in pixels.

    Returns:
        ``(cx, cy, inside, xc)``: content pixel coordinates ``(size, size)`` each, the
        soft mask of the medium's visible rectangle, and the normalised content x (for
        bend shading).
    """
    inv = np.linalg.inv(placement.matrix()).astype(np.float32)
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    xx, yy = np.meshgrid(c, c)
    w = inv[2, 0] * xx + inv[2, 1] * yy + inv[2, 2]
    xc = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]) / w
    yc = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]) / w
    x0, y0, x1, y1 = placement.rect
    soft = 0.7 / size
    inside = (
        smoothstep(x0 - soft, x0 + soft, xc)
        * smoothstep(x1 + soft, x1 - soft, xc)
        * smoothstep(y0 - soft, y0 + soft, yc)
        * smoothstep(y1 + soft, y1 - soft, yc)
    )
    return xc * size, yc * size, inside, xc


def sample_content(content: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """Bilinearly sample a content image at content pixel coordinates."""
    return sample_bilinear(content, cx, cy)


@dataclass(frozen=True)
class PrintParams:
    """A printed photo.

    Attributes:
        period: halftone cell in output pixels.
        angle: screen-angle offset (degrees).
        softness: dot-edge softness (ink spread).
        halftone: visibility of the dot structure (0 = continuous tone).
        gcr: grey-component replacement (share of black ink).
        ink_density: absorbance of the inks.
        paper: paper colour (linear RGB reflectance).
        grain: paper-grain amplitude.
        fibres: low-frequency paper-texture amplitude.
        gloss: specular sheen of the paper.
        margin: white border printed around the picture (content units).
        crosstalk: scale of the inks' unwanted absorptions (impure inks shrink the gamut).
        enhance: ``(contrast, saturation)`` applied to the photo before printing.
        tone: printer tone curve (ink coverage ``1 - photo ** tone``; about 2.2 reproduces
            the photo's brightness, less prints it lighter).
    """

    period: float
    angle: float
    softness: float
    halftone: float
    gcr: float
    ink_density: float
    paper: tuple[float, float, float]
    grain: float
    fibres: float
    gloss: float
    margin: float
    crosstalk: float = 1.0
    enhance: tuple[float, float] = (1.0, 1.0)
    tone: float = 2.0


# Reflectance loss per unit ink coverage (rows: C, M, Y, K; columns: R, G, B): real inks
# are impure, which shrinks the printable gamut.
_INK_ABSORB = np.array(
    [[0.9, 0.28, 0.06], [0.1, 0.88, 0.22], [0.02, 0.08, 0.85], [0.92, 0.92, 0.92]],
    dtype=np.float32,
)
_SCREEN_ANGLES = (15.0, 75.0, 0.0, 45.0)


def print_reflectance(
    photo: np.ndarray, p: PrintParams, world_per_px: float, rng: np.random.Generator
) -> np.ndarray:
    """Print a photo: CMYK separation, rotated halftone screens, impure inks, paper texture.

    Args:
        photo: ``(S, S, 3)`` sRGB picture in ``[0, 1]``.
        p: print parameters.
        world_per_px: world pixels per output pixel (halftone period scale).
        rng: random generator (paper grain).

    Returns:
        ``(S, S, 3)`` linear reflectance of the paper.
    """
    size = photo.shape[0]
    cmy = 1.0 - np.power(np.clip(photo, 0.0, 1.0), p.tone)
    k = p.gcr * cmy.min(axis=-1)
    cmy = (cmy - k[..., None]) / np.maximum(1.0 - k[..., None], 1e-3)
    inks = np.concatenate([cmy, k[..., None]], axis=-1)
    c = np.arange(size, dtype=np.float32) + 0.5
    xx, yy = np.meshgrid(c, c)
    period = max(p.period * world_per_px, 1.05)
    refl = np.ones((size, size, 3), dtype=np.float32)
    diag = np.eye(4, 3, dtype=np.float32)
    diag[3] = 1.0
    absorb = _INK_ABSORB * diag + p.crosstalk * _INK_ABSORB * (1 - diag)
    for ch, base in enumerate(_SCREEN_ANGLES):
        t = np.radians(base + p.angle)
        u = (xx * np.cos(t) + yy * np.sin(t)) * (2 * np.pi / period)
        v = (-xx * np.sin(t) + yy * np.cos(t)) * (2 * np.pi / period)
        screen = 0.5 - 0.25 * (np.cos(u) + np.cos(v))
        cover = inks[..., ch]
        dots = smoothstep(-p.softness, p.softness, cover - screen)
        amount = p.halftone * dots + (1 - p.halftone) * cover
        refl *= 1.0 - p.ink_density * amount[..., None] * absorb[ch]
    paper = np.asarray(p.paper, dtype=np.float32)
    grain = gaussian_blur(rng.standard_normal((size, size)).astype(np.float32), 0.6)
    fib = gaussian_blur(rng.standard_normal((size // 4 + 1, size // 4 + 1)).astype(np.float32), 1.5)
    fib = sample_bilinear(fib, xx / 4, yy / 4)
    texture = 1.0 + p.grain * grain + p.fibres * fib / max(float(np.std(fib)), 1e-6)
    return (refl * paper * texture[..., None]).astype(np.float32)


@dataclass(frozen=True)
class ScreenParams:
    """A screen showing a picture or video frame.

    Attributes:
        pitch: pixel pitch in output pixels.
        angle: rotation of the pixel grid (degrees).
        grid: sub-pixel mask contrast (0 = invisible grid).
        gamma: display gamma.
        brightness: emitted luminance relative to a white paper under the scene light.
        black: black level (backlight leak).
        tint: white point (linear RGB multipliers).
        glare: strength of the specular reflection of the scene light.
        glare_pos: ``(x, y)`` of the glare centre (unit image coordinates).
        glare_size: glare radius (unit image coordinates).
        reflection: strength of the blurred reflection of the room.
        bezel: bezel width (content units).
        enhance: ``(contrast, saturation)`` of the shown picture.
    """

    pitch: float
    angle: float
    grid: float
    gamma: float
    brightness: float
    black: float
    tint: tuple[float, float, float]
    glare: float
    glare_pos: tuple[float, float]
    glare_size: float
    reflection: float
    bezel: float
    enhance: tuple[float, float] = (1.0, 1.0)


def screen_emission(frame: np.ndarray, p: ScreenParams, world_per_px: float) -> np.ndarray:
    """Light emitted by a screen showing ``frame`` (sub-pixel stripes, row gaps, gamma).

    The grid is evaluated at world-pixel centres, so a pitch close to the sampling
    period aliases into moiré, as it does in a real camera.

    Args:
        frame: ``(S, S, 3)`` sRGB picture in ``[0, 1]``.
        p: screen parameters.
        world_per_px: world pixels per output pixel.

    Returns:
        ``(S, S, 3)`` linear emitted radiance.
    """
    size = frame.shape[0]
    c = np.arange(size, dtype=np.float32) + 0.5
    xx, yy = np.meshgrid(c, c)
    t = np.radians(p.angle)
    pitch = max(p.pitch * world_per_px, 1.05)
    u = (xx * np.cos(t) + yy * np.sin(t)) / pitch
    v = (-xx * np.sin(t) + yy * np.cos(t)) / pitch
    rows = 1.0 - p.grid * 0.5 * (1.0 + np.cos(2 * np.pi * v)) ** 2 / 2.0
    level = p.black + (1.0 - p.black) * np.power(np.clip(frame, 0.0, 1.0), p.gamma)
    out = np.empty_like(level)
    for ch in range(3):
        stripe = (0.5 + 0.5 * np.cos(2 * np.pi * (u - ch / 3.0))) ** 2 / 0.375
        out[..., ch] = level[..., ch] * ((1 - p.grid) + p.grid * stripe) * rows
    out /= 1.0 - p.grid * 0.375
    return f32(out * np.asarray(p.tint, dtype=np.float32) * p.brightness)


def glare_map(p: ScreenParams, size: int) -> np.ndarray:
    """Soft specular highlight of the scene light on the screen's glass, ``(S, S)``."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    xx, yy = np.meshgrid(c, c)
    r2 = ((xx - p.glare_pos[0]) ** 2 + (yy - p.glare_pos[1]) ** 2) / p.glare_size**2
    return (p.glare * np.exp(-r2)).astype(np.float32)


def srgb_content(
    linear: np.ndarray, contrast: float = 1.0, saturation: float = 1.0, target: float = 0.2
) -> np.ndarray:
    """Turn a linear render into the picture an attacker prints or shows.

    Exposes it to a mean luminance ``target``, encodes it as sRGB and applies the
    contrast and saturation enhancement of a photo app.

    Args:
        linear: ``(S, S, 3)`` linear RGB.
        contrast: contrast gain about mid-grey.
        saturation: saturation gain about the luma.
        target: mean linear luminance after exposure.

    Returns:
        ``(S, S, 3)`` sRGB in ``[0, 1]``.
    """
    luma_w = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    level = float(np.mean(linear @ luma_w))
    img = np.power(np.clip(linear * (target / max(level, 1e-4)), 0.0, 1.0), 1.0 / 2.2)
    img = 0.5 + contrast * (img - 0.5)
    luma = (img @ luma_w)[..., None]
    return np.clip(luma + saturation * (img - luma), 0.0, 1.0).astype(np.float32)
