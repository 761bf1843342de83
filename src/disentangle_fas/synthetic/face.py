"""Face parameters: identity, expression, pose and framing, their sampling, and landmarks.

Coordinates. The *head frame* has X to the image right (for a frontal face), Y up and Z
towards the camera, in units of half the head height (crown at ``Y ~ 1``, chin at
``Y = -1``). The camera is orthographic and looks along ``-Z``; a head-frame point ``p``
appears at camera coordinates ``R p`` with ``R = Rz(roll) Rx(pitch) Ry(yaw)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LANDMARK_NAMES",
    "Expression",
    "Framing",
    "Identity",
    "Pose",
    "landmarks_head",
    "neutral_expression",
    "rotation_matrix",
    "sample_expression",
    "sample_framing",
    "sample_identity",
    "sample_pose",
]

RGB = tuple[float, float, float]

#: Landmark order. The first five follow MTCNN's five points; "left"/"right" are image
#: sides (``left_eye`` is the eye on the image's left, the subject's right eye).
LANDMARK_NAMES: tuple[str, ...] = (
    "left_eye",
    "right_eye",
    "nose_tip",
    "mouth_left",
    "mouth_right",
    "left_brow",
    "right_brow",
    "upper_lip",
    "lower_lip",
    "chin",
)

# Skin albedos (sRGB), light to dark; identities interpolate between neighbours.
_SKIN_TONES = np.array(
    [
        (0.90, 0.74, 0.65),
        (0.83, 0.64, 0.54),
        (0.76, 0.58, 0.48),
        (0.67, 0.49, 0.38),
        (0.55, 0.39, 0.29),
        (0.44, 0.31, 0.24),
        (0.32, 0.22, 0.17),
    ],
    dtype=np.float32,
)
_HAIR_COLOURS = np.array(
    [
        (0.06, 0.05, 0.05),
        (0.16, 0.11, 0.07),
        (0.32, 0.21, 0.12),
        (0.62, 0.48, 0.30),
        (0.48, 0.22, 0.10),
        (0.55, 0.55, 0.55),
    ],
    dtype=np.float32,
)
_HAIR_WEIGHTS = np.array([0.32, 0.28, 0.18, 0.09, 0.06, 0.07])
_IRIS_COLOURS = np.array(
    [(0.18, 0.1, 0.05), (0.3, 0.18, 0.08), (0.25, 0.36, 0.48), (0.28, 0.36, 0.22)],
    dtype=np.float32,
)


@dataclass(frozen=True)
class Identity:
    """Shape and colour of one synthetic person (constant over all their images).

    Attributes:
        head_width: half-width of the head (head half-height is 1).
        head_depth: half-depth of the head.
        crown: vertical radius of the upper head.
        jaw: jaw taper (0 = oval, larger = narrower chin).
        skin: skin albedo, sRGB.
        hair: hair albedo, sRGB.
        hairline: Y of the hairline at the forehead centre.
        side_hair: amount of hair covering the sides (0-1).
        eye_x: X of the eye centres (absolute value).
        eye_y: Y of the eye centres.
        eye_w: eye half-width.
        eye_h: eye opening, as a fraction of ``eye_w``.
        iris: iris colour, sRGB.
        brow_y: Y of the eyebrows.
        brow_thick: eyebrow thickness.
        brow_arch: eyebrow arch height.
        nose_len: distance from the eye line down to the nose tip.
        nose_w: nose half-width at the nostrils.
        nose_h: nose protrusion.
        mouth_y: Y of the mouth line.
        mouth_w: mouth half-width.
        lip_t: lip thickness.
        lip: lip colour, sRGB.
        blush: cheek redness (0-1).
        beard: stubble shadow (0-1).
        texture_seed: seed of the skin and hair micro-texture.
    """

    head_width: float
    head_depth: float
    crown: float
    jaw: float
    skin: RGB
    hair: RGB
    hairline: float
    side_hair: float
    eye_x: float
    eye_y: float
    eye_w: float
    eye_h: float
    iris: RGB
    brow_y: float
    brow_thick: float
    brow_arch: float
    nose_len: float
    nose_w: float
    nose_h: float
    mouth_y: float
    mouth_w: float
    lip_t: float
    lip: RGB
    blush: float
    beard: float
    texture_seed: int


@dataclass(frozen=True)
class Expression:
    """Expression of one image.

    Attributes:
        smile: 0 (neutral) to 1 (broad smile).
        mouth_open: 0 (closed) to 1 (wide open).
        eye_open: eyelid opening, 0 (closed) to 1.
        brow_raise: -1 (frown) to 1 (raised).
        gaze: where the irises sit, ``(x, y)`` in eye half-widths from the centre.
    """

    smile: float = 0.0
    mouth_open: float = 0.0
    eye_open: float = 1.0
    brow_raise: float = 0.0
    gaze: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees (yaw: turn, pitch: nod, roll: in-plane tilt)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass(frozen=True)
class Framing:
    """Where the crop sits on the head (what a face detector plus alignment produce).

    Attributes:
        half_span: half the crop side, in head units.
        cx: crop centre X in camera coordinates.
        cy: crop centre Y in camera coordinates.
    """

    half_span: float = 1.15
    cx: float = 0.0
    cy: float = -0.08


def _rgb(values: np.ndarray) -> RGB:
    v = np.clip(values, 0.0, 1.0)
    return (float(v[0]), float(v[1]), float(v[2]))


def sample_identity(rng: np.random.Generator) -> Identity:
    """Draw a random identity.

    Args:
        rng: random generator.

    Returns:
        The identity.
    """
    t = rng.uniform(0.0, len(_SKIN_TONES) - 1.0)
    i = min(int(t), len(_SKIN_TONES) - 2)
    skin = (1 - (t - i)) * _SKIN_TONES[i] + (t - i) * _SKIN_TONES[i + 1]
    skin = skin * rng.uniform(0.95, 1.05) + rng.normal(0.0, 0.015, 3)
    hair = _HAIR_COLOURS[rng.choice(len(_HAIR_COLOURS), p=_HAIR_WEIGHTS)]
    hair = hair * rng.uniform(0.85, 1.15) + rng.normal(0.0, 0.01, 3)
    lip = skin * np.array([0.92, 0.62, 0.62]) + np.array([0.05, 0.0, 0.02])
    eye_y = rng.uniform(0.02, 0.1)
    return Identity(
        head_width=rng.uniform(0.70, 0.80),
        head_depth=rng.uniform(0.80, 0.90),
        crown=rng.uniform(1.0, 1.1),
        jaw=rng.uniform(0.15, 0.40),
        skin=_rgb(skin),
        hair=_rgb(hair),
        hairline=rng.uniform(0.42, 0.62) if rng.random() > 0.08 else rng.uniform(0.8, 0.95),
        side_hair=rng.uniform(0.0, 1.0),
        eye_x=rng.uniform(0.26, 0.31),
        eye_y=eye_y,
        eye_w=rng.uniform(0.12, 0.145),
        eye_h=rng.uniform(0.42, 0.58),
        iris=_rgb(_IRIS_COLOURS[rng.integers(len(_IRIS_COLOURS))] * rng.uniform(0.8, 1.1)),
        brow_y=eye_y + rng.uniform(0.15, 0.2),
        brow_thick=rng.uniform(0.028, 0.05),
        brow_arch=rng.uniform(0.01, 0.05),
        nose_len=rng.uniform(0.30, 0.38),
        nose_w=rng.uniform(0.10, 0.14),
        nose_h=rng.uniform(0.16, 0.24),
        mouth_y=eye_y - rng.uniform(0.56, 0.64),
        mouth_w=rng.uniform(0.18, 0.23),
        lip_t=rng.uniform(0.03, 0.05),
        lip=_rgb(lip),
        blush=rng.uniform(0.0, 1.0),
        beard=rng.uniform(0.0, 1.0) if rng.random() < 0.25 else 0.0,
        texture_seed=int(rng.integers(2**31)),
    )


def neutral_expression() -> Expression:
    """Return the neutral expression (open eyes, closed mouth, gaze ahead)."""
    return Expression()


def sample_expression(rng: np.random.Generator) -> Expression:
    """Draw a random expression (mostly mild: FAS benchmarks show cooperative users).

    Args:
        rng: random generator.

    Returns:
        The expression.
    """
    return Expression(
        smile=float(rng.uniform(0.0, 1.0) ** 2),
        mouth_open=float(rng.uniform(0.0, 1.0) ** 3),
        eye_open=float(rng.uniform(0.55, 1.0)),
        brow_raise=float(rng.uniform(-0.5, 1.0)),
        gaze=(float(rng.normal(0.0, 0.12)), float(rng.normal(0.0, 0.06))),
    )


def sample_pose(rng: np.random.Generator, spread: float = 1.0) -> Pose:
    """Draw a near-frontal pose.

    Args:
        rng: random generator.
        spread: scale of the angle ranges (1 gives yaw within about 25 degrees).

    Returns:
        The pose.
    """
    return Pose(
        yaw=float(np.clip(rng.normal(0.0, 10.0 * spread), -28.0, 28.0)),
        pitch=float(np.clip(rng.normal(0.0, 6.0 * spread), -18.0, 18.0)),
        roll=float(np.clip(rng.normal(0.0, 5.0 * spread), -15.0, 15.0)),
    )


def sample_framing(rng: np.random.Generator, scale: float = 1.0) -> Framing:
    """Draw the crop placement (detector jitter).

    Args:
        rng: random generator.
        scale: multiplies the crop size (larger shows more background).

    Returns:
        The framing.
    """
    return Framing(
        half_span=float(1.15 * scale * rng.uniform(0.94, 1.06)),
        cx=float(rng.normal(0.0, 0.04)),
        cy=float(-0.08 + rng.normal(0.0, 0.04)),
    )


def rotation_matrix(pose: Pose) -> np.ndarray:
    """Return ``R = Rz(roll) @ Rx(pitch) @ Ry(yaw)`` (head frame to camera frame).

    Positive yaw turns the face towards the image right, positive pitch tilts it up,
    positive roll rotates it counter-clockwise in the image.

    Args:
        pose: the head pose.

    Returns:
        ``(3, 3)`` float64 rotation matrix.
    """
    y, p, r = (math.radians(a) for a in (pose.yaw, pose.pitch, pose.roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return np.asarray(rz @ rx @ ry, dtype=np.float64)


def landmarks_head(idn: Identity, expr: Expression) -> np.ndarray:
    """Return the landmark positions ``(X, Y)`` in the head frame, in :data:`LANDMARK_NAMES` order.

    Args:
        idn: identity.
        expr: expression.

    Returns:
        ``(K, 2)`` float64 array (the surface height ``Z`` is added by the renderer).
    """
    mouth_x = idn.mouth_w * (1.0 + 0.15 * expr.smile)
    corner_y = idn.mouth_y + 0.035 * expr.smile
    gap = 0.09 * expr.mouth_open
    brow_y = idn.brow_y + 0.05 * expr.brow_raise + idn.brow_arch
    return np.array(
        [
            (-idn.eye_x, idn.eye_y),
            (idn.eye_x, idn.eye_y),
            (0.0, idn.eye_y - idn.nose_len),
            (-mouth_x, corner_y),
            (mouth_x, corner_y),
            (-idn.eye_x - 0.01, brow_y),
            (idn.eye_x + 0.01, brow_y),
            (0.0, idn.mouth_y + idn.lip_t),
            (0.0, idn.mouth_y - gap - idn.lip_t),
            (0.0, -0.9),
        ]
    )
