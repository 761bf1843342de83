"""Domains: a camera (sensor, optics, colour processing, compression) and a scene family.

Five named domains mirror the five benchmarks of the paper: ``O`` (OULU-NPU: recent phones,
sharp, indoor office sessions), ``C`` (CASIA-FASD: low-resolution, blurry webcam footage),
``I`` (Idiap Replay-Attack: a laptop webcam, noisy, "controlled" or "adverse" lighting),
``M`` (MSU-MFSD: laptop and tablet cameras, bright, saturated, smoothed) and ``Cb``
(CelebA-Spoof: in-the-wild images from many devices and scenes; the target domain of the
held-out-attack task, the only one with 3D masks by default).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from disentangle_fas.synthetic.imageops import gaussian_blur, jpeg_roundtrip, resize

__all__ = [
    "DOMAINS",
    "DOMAIN_CODES",
    "CameraParams",
    "DomainSpec",
    "capture",
    "sample_camera",
    "spoof_spec",
]

Range = tuple[float, float]
RGB = tuple[float, float, float]


@dataclass(frozen=True)
class DomainSpec:
    """Distributions that define one domain (every range is sampled uniformly per video).

    Attributes:
        code: short name (``"O"``, ``"C"``, ``"I"``, ``"M"``, ``"Cb"``).
        name: descriptive name.
        description: one line on what the domain imitates.
        attacks: attack ids present by default (see :data:`~disentangle_fas.synthetic.ATTACKS`).
        backgrounds: ``(style, weight)`` pairs of background styles.
        palette: wall colours (sRGB).
        scene_brightness: radiance of the background.
        bg_blur: depth-of-field blur of the background, in output pixels.
        light_azimuth: key-light azimuth (degrees).
        light_elevation: key-light elevation (degrees).
        light_key: key-light intensity.
        light_ambient: ambient intensity.
        kelvin: light colour temperature.
        crop_scale: crop size relative to the default (detector looseness).
        pose_spread: head-pose spread (1 = default).
        sensor_scale: sensor resolution relative to the output size.
        blur: optical blur sigma, in output pixels.
        read_noise: read-noise std (linear units).
        shot_noise: shot-noise gain (variance per unit signal).
        awb: strength of the automatic white balance (1 cancels the light colour).
        tint: residual white-balance gains per channel (r, g, b), each a range.
        saturation: colour-matrix saturation.
        exposure: auto-exposure target (mean linear luminance of the centre).
        gamma: tone-curve exponent (output = linear ** (1 / gamma)).
        contrast: S-curve strength.
        jpeg: JPEG quality.
        vignette: corner darkening.
        cue_strength: multiplies the visibility of the attack cues (halftone, paper
            texture and screen-grid contrast); 1 is the reference.
        print_quality: quality of the printers and papers used for print attacks
            (0 cheap office print, 1 photo print).
        screen_quality: quality of the displays used for replay attacks.
        motion_blur: hand or head motion blur length, in output pixels.
        spoof_capture: ``(field, range)`` overrides of the ranges above for spoof videos:
            the capture biases of a dataset (attacks recorded in another room, under
            other light, with a fixed support...). They differ between domains, so a
            model that learns them does not generalise.
    """

    code: str
    name: str
    description: str
    attacks: tuple[int, ...]
    backgrounds: tuple[tuple[str, float], ...]
    palette: tuple[RGB, ...]
    scene_brightness: Range
    bg_blur: Range
    light_azimuth: Range
    light_elevation: Range
    light_key: Range
    light_ambient: Range
    kelvin: Range
    crop_scale: Range
    pose_spread: float
    sensor_scale: Range
    blur: Range
    read_noise: Range
    shot_noise: Range
    awb: Range
    tint: tuple[Range, Range, Range]
    saturation: Range
    exposure: Range
    gamma: Range
    contrast: Range
    jpeg: Range
    vignette: Range
    cue_strength: Range
    print_quality: Range
    screen_quality: Range
    motion_blur: Range
    spoof_capture: tuple[tuple[str, Range], ...] = ()


_NEUTRAL: tuple[Range, Range, Range] = ((0.97, 1.03), (0.98, 1.02), (0.97, 1.03))

DOMAINS: tuple[DomainSpec, ...] = (
    DomainSpec(
        code="O",
        name="phone-office",
        description="recent phone front cameras: sharp, clean, warm office light",
        attacks=(1, 2),
        backgrounds=(("room", 0.7), ("plain", 0.3)),
        palette=((0.85, 0.82, 0.74), (0.75, 0.72, 0.66), (0.62, 0.6, 0.58), (0.8, 0.78, 0.8)),
        scene_brightness=(0.5, 1.0),
        bg_blur=(0.8, 2.0),
        light_azimuth=(-45.0, 45.0),
        light_elevation=(10.0, 45.0),
        light_key=(0.5, 0.9),
        light_ambient=(0.2, 0.45),
        kelvin=(3000.0, 4500.0),
        crop_scale=(0.95, 1.05),
        pose_spread=0.8,
        sensor_scale=(1.0, 1.0),
        blur=(0.3, 0.6),
        read_noise=(0.002, 0.006),
        shot_noise=(0.0005, 0.0015),
        awb=(0.6, 0.8),
        tint=((1.02, 1.1), (0.98, 1.02), (0.88, 0.96)),
        saturation=(1.0, 1.15),
        exposure=(0.16, 0.22),
        gamma=(2.2, 2.4),
        contrast=(0.1, 0.2),
        jpeg=(88.0, 96.0),
        vignette=(0.05, 0.15),
        cue_strength=(0.6, 0.9),
        print_quality=(0.55, 1.0),
        screen_quality=(0.5, 1.0),
        motion_blur=(0.0, 0.8),
        spoof_capture=(("light_ambient", (0.35, 0.45)), ("scene_brightness", (0.8, 1.0))),
    ),
    DomainSpec(
        code="C",
        name="webcam-lowres",
        description="old USB webcams: low resolution, blurry, dim, cool and desaturated",
        attacks=(1, 2),
        backgrounds=(("plain", 0.6), ("clutter", 0.4)),
        palette=((0.45, 0.47, 0.5), (0.3, 0.32, 0.38), (0.55, 0.55, 0.5), (0.2, 0.22, 0.25)),
        scene_brightness=(0.3, 0.7),
        bg_blur=(1.0, 3.0),
        light_azimuth=(-20.0, 20.0),
        light_elevation=(20.0, 50.0),
        light_key=(0.4, 0.7),
        light_ambient=(0.3, 0.5),
        kelvin=(5000.0, 7500.0),
        crop_scale=(1.05, 1.2),
        pose_spread=1.0,
        sensor_scale=(0.4, 0.6),
        blur=(0.7, 1.3),
        read_noise=(0.004, 0.01),
        shot_noise=(0.001, 0.003),
        awb=(0.3, 0.6),
        tint=((0.9, 0.97), (0.98, 1.04), (1.03, 1.12)),
        saturation=(0.7, 0.85),
        exposure=(0.11, 0.16),
        gamma=(1.9, 2.1),
        contrast=(0.0, 0.1),
        jpeg=(55.0, 75.0),
        vignette=(0.15, 0.35),
        cue_strength=(0.7, 1.0),
        print_quality=(0.0, 0.5),
        screen_quality=(0.3, 0.7),
        motion_blur=(0.0, 1.5),
        spoof_capture=(
            ("kelvin", (6500.0, 7500.0)),
            ("crop_scale", (1.15, 1.25)),
            ("motion_blur", (0.0, 0.3)),
        ),
    ),
    DomainSpec(
        code="I",
        name="laptop-adverse",
        description="a laptop webcam: noisy sensor, greenish, harsh side light or flat light",
        attacks=(1, 2),
        backgrounds=(("clutter", 0.5), ("room", 0.5)),
        palette=((0.7, 0.7, 0.65), (0.5, 0.45, 0.4), (0.6, 0.62, 0.55)),
        scene_brightness=(0.3, 1.2),
        bg_blur=(0.3, 1.0),
        light_azimuth=(-80.0, 80.0),
        light_elevation=(-5.0, 35.0),
        light_key=(0.5, 1.1),
        light_ambient=(0.08, 0.3),
        kelvin=(4000.0, 6000.0),
        crop_scale=(0.9, 1.05),
        pose_spread=1.0,
        sensor_scale=(0.55, 0.7),
        blur=(0.4, 0.7),
        read_noise=(0.012, 0.025),
        shot_noise=(0.003, 0.008),
        awb=(0.4, 0.7),
        tint=((0.9, 0.98), (1.02, 1.08), (0.88, 0.98)),
        saturation=(0.85, 1.0),
        exposure=(0.12, 0.2),
        gamma=(2.0, 2.4),
        contrast=(0.15, 0.3),
        jpeg=(70.0, 85.0),
        vignette=(0.1, 0.3),
        cue_strength=(0.8, 1.1),
        print_quality=(0.25, 0.7),
        screen_quality=(0.0, 0.5),
        motion_blur=(0.0, 1.0),
        spoof_capture=(
            ("light_azimuth", (-20.0, 20.0)),
            ("light_ambient", (0.25, 0.3)),
            ("motion_blur", (0.0, 0.2)),
        ),
    ),
    DomainSpec(
        code="M",
        name="tablet-bright",
        description="laptop and tablet cameras: bright, saturated, magenta cast, smoothed",
        attacks=(1, 2),
        backgrounds=(("plain", 0.7), ("room", 0.3)),
        palette=((0.92, 0.92, 0.9), (0.85, 0.87, 0.9), (0.9, 0.86, 0.8)),
        scene_brightness=(0.8, 1.3),
        bg_blur=(0.5, 1.5),
        light_azimuth=(-25.0, 25.0),
        light_elevation=(0.0, 30.0),
        light_key=(0.6, 1.0),
        light_ambient=(0.35, 0.55),
        kelvin=(5500.0, 7000.0),
        crop_scale=(0.9, 1.0),
        pose_spread=0.6,
        sensor_scale=(0.7, 0.85),
        blur=(0.6, 1.0),
        read_noise=(0.002, 0.005),
        shot_noise=(0.0005, 0.0015),
        awb=(0.8, 1.0),
        tint=((1.02, 1.08), (0.92, 0.97), (1.0, 1.08)),
        saturation=(1.15, 1.35),
        exposure=(0.22, 0.3),
        gamma=(2.3, 2.6),
        contrast=(0.0, 0.1),
        jpeg=(80.0, 90.0),
        vignette=(0.0, 0.1),
        cue_strength=(0.8, 1.0),
        print_quality=(0.2, 0.8),
        screen_quality=(0.55, 1.0),
        motion_blur=(0.0, 0.6),
        spoof_capture=(("exposure", (0.26, 0.3)), ("jpeg", (88.0, 92.0))),
    ),
    DomainSpec(
        code="Cb",
        name="in-the-wild",
        description="photos from many devices, indoors and outdoors (all attack types)",
        attacks=(1, 2, 3),
        backgrounds=(("outdoor", 0.35), ("clutter", 0.35), ("room", 0.2), ("plain", 0.1)),
        palette=(
            (0.8, 0.75, 0.7),
            (0.4, 0.45, 0.5),
            (0.7, 0.55, 0.45),
            (0.9, 0.9, 0.92),
            (0.3, 0.25, 0.2),
        ),
        scene_brightness=(0.4, 1.4),
        bg_blur=(0.5, 3.0),
        light_azimuth=(-60.0, 60.0),
        light_elevation=(0.0, 60.0),
        light_key=(0.4, 1.0),
        light_ambient=(0.15, 0.5),
        kelvin=(3000.0, 8000.0),
        crop_scale=(0.9, 1.15),
        pose_spread=1.2,
        sensor_scale=(0.5, 1.0),
        blur=(0.3, 1.0),
        read_noise=(0.002, 0.015),
        shot_noise=(0.0005, 0.005),
        awb=(0.5, 1.0),
        tint=((0.92, 1.08), (0.95, 1.05), (0.92, 1.08)),
        saturation=(0.85, 1.25),
        exposure=(0.13, 0.26),
        gamma=(2.0, 2.5),
        contrast=(0.0, 0.25),
        jpeg=(60.0, 95.0),
        vignette=(0.0, 0.25),
        cue_strength=(0.7, 1.1),
        print_quality=(0.0, 1.0),
        screen_quality=(0.0, 1.0),
        motion_blur=(0.0, 1.5),
    ),
)

#: Domain codes in table order (index = global domain id).
DOMAIN_CODES: tuple[str, ...] = tuple(d.code for d in DOMAINS)


@dataclass(frozen=True)
class CameraParams:
    """One session's camera (drawn from a :class:`DomainSpec`)."""

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


def _u(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def spoof_spec(spec: DomainSpec) -> DomainSpec:
    """Return the domain with its spoof-capture overrides applied."""
    overrides: dict[str, Any] = dict(spec.spoof_capture)
    return replace(spec, **overrides) if overrides else spec


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

    The chain: optical blur, area integration on the sensor grid, vignetting, auto
    exposure (centre weighted), white balance, shot and read noise, colour matrix, tone
    curve, JPEG at the sensor resolution, resize to the output size.

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
    luma = (img @ _LUMA)[..., None]
    img = luma + cam.saturation * (img - luma)
    img = np.power(np.clip(img, 0.0, 1.0), 1.0 / cam.gamma)
    img = img + cam.contrast * img * (1 - img) * (2 * img - 1)
    img = jpeg_roundtrip(np.clip(img, 0.0, 1.0), cam.jpeg)
    img = resize(img, size, size)
    return (np.clip(np.rint(img * 255.0), 0, 255) / 255.0).astype(np.float32)
