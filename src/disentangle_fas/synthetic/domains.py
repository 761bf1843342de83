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

__all__ = ["DOMAINS", "DOMAIN_CODES", "DomainSpec", "spoof_spec"]

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
        sharpen: unsharp-mask amount of the camera's processing.
        denoise: strength of the camera's noise reduction (0-1).
        spoof_capture: ``(field, range)`` overrides of the ranges above for spoof videos:
            the capture biases of a dataset (attacks recorded in another room, under
            other light, with a fixed support...). They differ between domains, so a
            model that learns them does not generalise.
        spoof_bias: ``(exposure, warmth, sharpness)`` signed shifts of the spoof videos'
            camera relative to the live ones (see :func:`spoof_spec`): the spoofs of a
            dataset were exposed brighter or darker, white-balanced warmer or cooler, and
            recorded sharper or softer than its live videos. Across ``O``, ``C``, ``I``,
            ``M`` each direction appears twice with each sign, so for every held-out
            domain the other three teach, by majority, the opposite direction.
        mask_print: probability that a 3D mask is a full-colour 3D print of the victim's
            photo (halftone dots and printing layer lines on its surface) rather than a
            hand-painted cast.
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
    sharpen: Range = (0.0, 0.0)
    denoise: Range = (0.0, 0.0)
    spoof_capture: tuple[tuple[str, Range], ...] = ()
    spoof_bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mask_print: float = 0.5


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
        cue_strength=(0.48, 0.72),
        print_quality=(0.55, 1.0),
        screen_quality=(0.5, 1.0),
        motion_blur=(0.0, 0.8),
        sharpen=(0.6, 1.2),
        denoise=(0.1, 0.3),
        spoof_capture=(("light_ambient", (0.35, 0.45)), ("scene_brightness", (0.8, 1.0))),
        spoof_bias=(1.0, 1.0, 1.0),
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
        cue_strength=(0.56, 0.8),
        print_quality=(0.0, 0.5),
        screen_quality=(0.3, 0.7),
        motion_blur=(0.0, 1.5),
        sharpen=(0.0, 0.3),
        denoise=(0.0, 0.2),
        spoof_capture=(("crop_scale", (1.15, 1.25)), ("motion_blur", (0.0, 0.3))),
        spoof_bias=(-1.0, 1.0, -1.0),
    ),
    DomainSpec(
        code="I",
        name="laptop-adverse",
        description="a laptop webcam: very noisy sensor, greenish, harsh side light or flat light",
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
        read_noise=(0.018, 0.035),
        shot_noise=(0.004, 0.01),
        awb=(0.4, 0.7),
        tint=((0.9, 0.98), (1.02, 1.08), (0.88, 0.98)),
        saturation=(0.85, 1.0),
        exposure=(0.12, 0.2),
        gamma=(2.0, 2.4),
        contrast=(0.15, 0.3),
        jpeg=(70.0, 85.0),
        vignette=(0.1, 0.3),
        cue_strength=(0.2, 0.35),
        print_quality=(0.7, 1.0),
        screen_quality=(0.6, 1.0),
        motion_blur=(0.0, 1.0),
        sharpen=(0.2, 0.6),
        denoise=(0.0, 0.2),
        spoof_capture=(("light_ambient", (0.08, 0.16)), ("motion_blur", (0.0, 0.4))),
        spoof_bias=(0.6, -1.0, -1.0),
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
        sensor_scale=(0.8, 0.95),
        blur=(0.4, 0.7),
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
        cue_strength=(0.64, 0.8),
        print_quality=(0.2, 0.8),
        screen_quality=(0.55, 1.0),
        motion_blur=(0.0, 0.6),
        sharpen=(0.0, 0.2),
        denoise=(0.2, 0.5),
        spoof_capture=(("light_elevation", (15.0, 30.0)),),
        spoof_bias=(-0.6, -1.0, 1.0),
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
        cue_strength=(0.56, 0.88),
        print_quality=(0.0, 1.0),
        screen_quality=(0.0, 1.0),
        motion_blur=(0.0, 1.5),
        sharpen=(0.0, 1.2),
        denoise=(0.0, 0.8),
        spoof_capture=(
            ("read_noise", (0.006, 0.015)),
            ("scene_brightness", (0.4, 1.0)),
        ),
        mask_print=0.85,
    ),
)

#: Domain codes in table order (index = global domain id).
DOMAIN_CODES: tuple[str, ...] = tuple(d.code for d in DOMAINS)


#: Size of one unit of :attr:`DomainSpec.spoof_bias`: relative exposure change, relative
#: red/blue white-balance gain change, and relative change of the optical blur (with JPEG
#: quality points per unit and sharpening amount per unit).
BIAS_EXPOSURE = 0.33
BIAS_WARMTH = 0.09
BIAS_BLUR = 0.44
BIAS_JPEG = 11.0
BIAS_SHARPEN = 0.44


def _scaled(r: Range, f: float) -> Range:
    return (r[0] * f, r[1] * f)


def _shifted(r: Range, d: float, lo: float, hi: float) -> Range:
    return (min(max(r[0] + d, lo), hi), min(max(r[1] + d, lo), hi))


def spoof_spec(spec: DomainSpec) -> DomainSpec:
    """Return the domain as its spoof videos were captured.

    The :attr:`~DomainSpec.spoof_capture` overrides replace ranges; then the signed
    :attr:`~DomainSpec.spoof_bias` moves the camera: exposure target times
    ``1 + BIAS_EXPOSURE * e``; red gain times ``1 + BIAS_WARMTH * w`` and blue gain times
    ``1 - BIAS_WARMTH * w``; optical blur times ``1 - BIAS_BLUR * k``, JPEG quality plus
    ``BIAS_JPEG * k`` (within 30-98) and sharpening plus ``BIAS_SHARPEN * k`` (at least 0).

    Args:
        spec: the domain.

    Returns:
        The spoof videos' domain specification.
    """
    overrides: dict[str, Any] = dict(spec.spoof_capture)
    out = replace(spec, **overrides) if overrides else spec
    e, w, k = spec.spoof_bias
    if e == 0.0 and w == 0.0 and k == 0.0:
        return out
    r, g, b = out.tint
    return replace(
        out,
        exposure=_scaled(out.exposure, 1.0 + BIAS_EXPOSURE * e),
        tint=(_scaled(r, 1.0 + BIAS_WARMTH * w), g, _scaled(b, 1.0 - BIAS_WARMTH * w)),
        blur=_scaled(out.blur, max(1.0 - BIAS_BLUR * k, 0.1)),
        jpeg=_shifted(out.jpeg, BIAS_JPEG * k, 30.0, 98.0),
        sharpen=_shifted(out.sharpen, BIAS_SHARPEN * k, 0.0, 3.0),
    )
