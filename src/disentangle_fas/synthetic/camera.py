"""The camera of a domain: optics, sensor, colour processing and compression."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.domains import DomainSpec
from disentangle_fas.synthetic.imageops import gaussian_blur, jpeg_roundtrip, resize

__all__ = ["CameraParams", "capture", "sample_camera"]

Range = tuple[float, float]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class CameraParams:
    """One session's camera (drawn from a :class:`DomainSpec`; see its fields).

    Attributes:
        sensor_scale: sensor resolution relative to the output size.
        blur: optical blur sigma (output pixels).
        read_noise: read-noise standard deviation (linear units).
        shot_noise: shot-noise variance per unit signal.
        awb: auto-white-balance strength.
        tint: residual white-balance gains.
        saturation: colour-matrix saturation.
        exposure: auto-exposure target (centre-weighted mean linear luminance).
        gamma: tone-curve exponent.
        contrast: S-curve strength.
        jpeg: JPEG quality.
        vignette: corner darkening.
        motion: motion-blur length (output pixels).
        motion_angle: motion direction (radians).
        sharpen: unsharp-mask amount.
        denoise: noise-reduction strength.
    """

    sensor_scale: float
    blur: float
    read_noise: float
    shot_noise: float
    awb: float
    tint: RGB
    saturation: float
    exposure: float
    gamma: float
    contrast: float
    jpeg: int
    vignette: float
    motion: float = 0.0
    motion_angle: float = 0.0
    sharpen: float = 0.0
    denoise: float = 0.0


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def sample_camera(rng: np.random.Generator, spec: DomainSpec) -> CameraParams:
    """Draw a camera session from a domain.

    Args:
        rng: random generator.
        spec: the domain.

    Returns:
        The camera parameters.
    """
    return CameraParams(
        sensor_scale=_u(rng, spec.sensor_scale),
        blur=_u(rng, spec.blur),
        read_noise=_u(rng, spec.read_noise),
        shot_noise=_u(rng, spec.shot_noise),
        awb=_u(rng, spec.awb),
        tint=(_u(rng, spec.tint[0]), _u(rng, spec.tint[1]), _u(rng, spec.tint[2])),
        saturation=_u(rng, spec.saturation),
        exposure=_u(rng, spec.exposure),
        gamma=_u(rng, spec.gamma),
        contrast=_u(rng, spec.contrast),
        jpeg=round(_u(rng, spec.jpeg)),
        vignette=_u(rng, spec.vignette),
        motion=_u(rng, spec.motion_blur),
        motion_angle=float(rng.uniform(0.0, np.pi)),
        sharpen=_u(rng, spec.sharpen),
        denoise=_u(rng, spec.denoise),
    )


def _motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Average of shifted copies along a line (``length`` in pixels)."""
    if length < 1.0:
        return img
    taps = np.linspace(-length / 2, length / 2, 5)
    acc = np.zeros_like(img)
    for t in taps:
        dy, dx = round(t * np.sin(angle)), round(t * np.cos(angle))
        acc += np.roll(img, (dy, dx), axis=(0, 1))
    return acc / len(taps)


_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def capture(
    radiance: np.ndarray,
    cam: CameraParams,
    size: int,
    rng: np.random.Generator,
    light_colour: RGB,
) -> np.ndarray:
    """Image a linear-RGB scene with a camera and return the final 8-bit-quantised picture.

    The chain: motion blur, optical blur, area integration on the sensor grid, vignetting,
    auto exposure (centre weighted), white balance, shot and read noise, noise reduction,
    sharpening, colour matrix, tone curve, JPEG at the sensor resolution, resize to the
    output size.

    Args:
        radiance: ``(S, S, 3)`` linear RGB at world resolution.
        cam: camera parameters.
        size: output side in pixels.
        rng: random generator for the noise.
        light_colour: colour of the scene light (what the auto white balance sees).

    Returns:
        ``(size, size, 3)`` float32 in ``[0, 1]`` (multiples of 1/255).
    """
    world = radiance.shape[0]
    img = _motion_blur(radiance, cam.motion * world / size, cam.motion_angle)
    img = gaussian_blur(img, cam.blur * world / size)
    n = max(16, round(size * cam.sensor_scale))
    img = resize(img, n, n)
    c = (np.arange(n, dtype=np.float32) + 0.5) / n - 0.5
    r2 = c[None, :] ** 2 + c[:, None] ** 2
    img = img * (1.0 - cam.vignette * r2 / 0.5)[..., None]
    centre = np.exp(-r2 / 0.08)
    luma = img @ _LUMA
    level = float(np.sum(luma * centre) / np.sum(centre))
    img = img * (cam.exposure / max(level, 1e-4))
    gains = np.power(1.0 / np.asarray(light_colour, dtype=np.float32), cam.awb) * np.asarray(
        cam.tint, dtype=np.float32
    )
    img = img * (gains / float(gains @ _LUMA))
    noise_sd = np.sqrt(cam.shot_noise * np.clip(img, 0.0, None) + cam.read_noise**2)
    img = img + noise_sd * rng.standard_normal(img.shape, dtype=np.float32)
    if cam.denoise > 0:
        img = img + cam.denoise * (gaussian_blur(img, 0.9) - img)
    if cam.sharpen > 0:
        img = img + cam.sharpen * (img - gaussian_blur(img, 1.0))
    luma = (img @ _LUMA)[..., None]
    img = luma + cam.saturation * (img - luma)
    img = np.power(np.clip(img, 0.0, 1.0), 1.0 / cam.gamma)
    img = img + cam.contrast * img * (1 - img) * (2 * img - 1)
    img = jpeg_roundtrip(np.clip(img, 0.0, 1.0), cam.jpeg)
    img = resize(img, size, size)
    return (np.clip(np.rint(img * 255.0), 0, 255) / 255.0).astype(np.float32)
