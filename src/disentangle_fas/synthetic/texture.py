"""Surface appearance of the head: skin, eyes, brows, lips, hair, and a rigid mask's paint.

Everything is painted procedurally as a function of the head-frame hit point, so the
features move with the geometry. Colours are composed in sRGB (as a painter would pick
them) and returned as linear albedo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.face import RGB, Expression, Identity
from disentangle_fas.synthetic.geometry import HeadShape, outline_q
from disentangle_fas.synthetic.imageops import f32, sample_bilinear, smoothstep, srgb_to_linear

__all__ = ["MaskLook", "Surface", "paint_head"]

_TEX_N = 128


@dataclass(frozen=True)
class PrintedFinish:
    """The surface of a full-colour 3D-printed mask.

    Attributes:
        dots: contrast of the halftone dots.
        dot_period: halftone period, in head units (half the head height).
        dot_angle: halftone screen angle (degrees).
        layers: contrast of the printing layer lines (horizontal ridges).
        layer_period: layer-line period, in head units.
        gamut: tone compression (0 none; 1 the paper white and ink density of a cheap
            print: dull blacks and whites, low contrast).
    """

    dots: float
    dot_period: float
    dot_angle: float
    layers: float
    layer_period: float
    gamut: float


@dataclass(frozen=True)
class MaskLook:
    """Appearance of a rigid 3D mask and of the person wearing it.

    Attributes:
        colour: the mask's paint, sRGB.
        gloss: specular strength of the resin.
        shininess: specular exponent.
        top: head-frame Y where the mask ends at the forehead.
        hole: eye-hole size factor (1 = a little larger than the eye).
        wearer_skin: the wearer's skin, sRGB (seen around the mask).
        wearer_hair: the wearer's hair, sRGB.
        wearer_iris: the wearer's iris, sRGB (seen through the eye holes).
        paint_features: strength of the painted brows and lips (0-1).
        printed: the surface of a full-colour 3D print of the victim's photo; ``None``
            for a hand-painted cast.
        wrap: subsurface scattering of the material (0 hard resin, about 0.4 silicone).
        relief: depth of the cast's relief relative to the victim's face (1 a faithful
            cast; lower for the shallow shells of cheap masks, whose shading is flatter).
    """

    colour: RGB
    gloss: float
    shininess: float
    top: float
    hole: float
    wearer_skin: RGB
    wearer_hair: RGB
    wearer_iris: RGB
    paint_features: float
    printed: PrintedFinish | None = None
    wrap: float = 0.0
    relief: float = 1.0


@dataclass(frozen=True)
class Surface:
    """Per-hit-point material.

    Attributes:
        albedo: ``(N, 3)`` linear RGB albedo.
        spec: ``(N,)`` specular strength.
        shininess: ``(N,)`` specular exponent.
        wrap: ``(N,)`` wrap-lighting amount (subsurface scattering look; 0 for hard
            materials).
    """

    albedo: np.ndarray
    spec: np.ndarray
    shininess: np.ndarray
    wrap: np.ndarray


def _mix(base: np.ndarray, colour: np.ndarray | RGB, w: np.ndarray) -> np.ndarray:
    c = np.asarray(colour, dtype=np.float32)
    return f32(base * (1 - w[:, None]) + c * w[:, None])


def _band(d: np.ndarray, half: float | np.ndarray, soft: float) -> np.ndarray:
    """1 where ``|d| < half``, falling to 0 over ``soft``."""
    return smoothstep(half + soft, half, np.abs(d))


def _noise_tables(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    fine = rng.uniform(-1.0, 1.0, size=(_TEX_N, _TEX_N)).astype(np.float32)
    coarse = rng.uniform(-1.0, 1.0, size=(24, 24)).astype(np.float32)
    return fine, coarse


def _lookup(table: np.ndarray, x: np.ndarray, y: np.ndarray, fx: float, fy: float) -> np.ndarray:
    n = table.shape[0]
    col = np.mod((x + 1.2) * fx, n - 1.0) + 0.5
    row = np.mod((1.2 - y) * fy, n - 1.0) + 0.5
    return sample_bilinear(table, col, row)


def _eye(
    x: np.ndarray, y: np.ndarray, idn: Identity, expr: Expression, iris_rgb: RGB, side: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (inside-eye weight, eye colour sRGB, lash-line weight, crease weight)."""
    lx = (x - side * idn.eye_x) / idn.eye_w
    ly = (y - idn.eye_y) / idn.eye_w
    shape = np.clip(1.0 - lx * lx, 0.0, None)
    upper = idn.eye_h * (0.25 + 0.75 * expr.eye_open) * shape * (1.0 - 0.12 * side * lx)
    lower = -0.45 * idn.eye_h * shape
    soft = 0.06
    inside = smoothstep(upper + soft, upper - soft, ly) * smoothstep(lower - soft, lower + soft, ly)
    inside *= smoothstep(1.0, 0.92, np.abs(lx))
    gaze_x, gaze_y = expr.gaze
    r = np.hypot(lx - gaze_x, ly - gaze_y)
    sclera = np.array([0.8, 0.77, 0.74], dtype=np.float32) * (1 - 0.25 * np.abs(lx))[:, None]
    col = _mix(sclera, iris_rgb, smoothstep(0.47, 0.42, r))
    col = _mix(col, (0.02, 0.02, 0.02), smoothstep(0.2, 0.16, r))
    col = _mix(col, np.asarray(iris_rgb) * 0.5, _band(r - 0.45, 0.03, 0.03))
    lash = smoothstep(1.08, 0.9, np.abs(lx)) * _band(ly - upper - 0.06, 0.07, 0.05)
    lash = np.maximum(lash, 0.5 * smoothstep(1.0, 0.8, np.abs(lx)) * _band(ly - lower, 0.02, 0.03))
    crease = smoothstep(1.1, 0.8, np.abs(lx)) * _band(ly - idn.eye_h * shape - 0.42, 0.04, 0.08)
    return inside, col, lash, crease


def _brow(x: np.ndarray, y: np.ndarray, idn: Identity, expr: Expression) -> np.ndarray:
    weight = np.zeros_like(x)
    for side in (-1.0, 1.0):
        bx = (x - side * (idn.eye_x + 0.01)) / 0.17
        yc = idn.brow_y + 0.05 * expr.brow_raise + idn.brow_arch * (1 - bx * bx) - 0.02 * side * bx
        half = 0.5 * idn.brow_thick * (1.0 - 0.35 * (side * bx + 1) / 2)
        w = smoothstep(1.05, 0.85, np.abs(bx)) * _band(y - yc, half, 0.012)
        weight = np.maximum(weight, w)
    return weight


def _mouth(
    x: np.ndarray, y: np.ndarray, idn: Identity, expr: Expression
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (lip weight, interior weight, teeth weight)."""
    mw = idn.mouth_w * (1.0 + 0.15 * expr.smile)
    xm = x / mw
    prof = np.sqrt(np.clip(1.0 - xm * xm, 0.0, 1.0))
    ym = idn.mouth_y + 0.035 * expr.smile * xm * xm
    gap = 0.09 * expr.mouth_open * prof
    bow = 1.0 - 0.3 * np.exp(-((x / 0.035) ** 2))
    t_up = idn.lip_t * (0.35 + 0.65 * prof) * bow * prof
    t_lo = 1.2 * idn.lip_t * (0.3 + 0.7 * prof) * prof
    soft = 0.01
    upper = smoothstep(ym - soft, ym, y) * smoothstep(ym + t_up + soft, ym + t_up - soft, y)
    lower = smoothstep(ym - gap - t_lo - soft, ym - gap - t_lo + soft, y) * smoothstep(
        ym - gap + soft, ym - gap - 0.002, y
    )
    lips = np.maximum(upper, lower) * smoothstep(1.02, 0.9, np.abs(xm))
    interior = (
        smoothstep(ym - gap - soft, ym - gap + 0.004, y)
        * smoothstep(ym + 0.004, ym - 0.002, y)
        * smoothstep(1.0, 0.9, np.abs(xm))
    )
    interior = np.maximum(
        interior, 0.8 * _band(y - ym, 0.004, 0.006) * smoothstep(1.05, 0.9, np.abs(xm))
    )
    teeth = (
        interior * smoothstep(ym - 0.5 * gap - 1e-3, ym - 0.3 * gap, y) * (expr.mouth_open > 0.15)
    )
    return lips, interior, teeth


def _hair_weight(
    shape: HeadShape, x: np.ndarray, y: np.ndarray, z: np.ndarray, idn: Identity
) -> np.ndarray:
    """Hair coverage: above a hairline that curves down to sideburn level at the sides."""
    ax = np.abs(x) / shape.a
    side_level = idn.eye_y - 0.05 - 0.45 * idn.side_hair
    wave = 0.015 * np.sin(x * 23.0 + (idn.texture_seed % 628) / 100.0)
    bound = idn.hairline + 0.1 * ax * ax + wave
    bound = bound - (idn.hairline + 0.1 - side_level) * smoothstep(0.6, 0.95, ax)
    front = smoothstep(-0.025, 0.025, y - bound)
    back = smoothstep(0.12, -0.05, z) * smoothstep(-0.55, -0.4, y)
    return f32(np.maximum(front, back))


def paint_head(
    shape: HeadShape,
    idn: Identity,
    expr: Expression,
    points: np.ndarray,
    mask: MaskLook | None = None,
) -> Surface:
    """Paint the head at its visible surface points.

    Args:
        shape: head surface.
        idn: identity (for a mask: the impersonated person).
        expr: expression.
        points: ``(N, 3)`` head-frame surface points.
        mask: if given, the face is covered by this rigid mask.

    Returns:
        The material at each point.
    """
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    fine, coarse = _noise_tables(idn.texture_seed)
    front = smoothstep(0.0, 0.1, z)
    skin_rgb = idn.skin if mask is None else mask.wearer_skin
    hair_rgb = idn.hair if mask is None else mask.wearer_hair
    skin = np.tile(np.asarray(skin_rgb, dtype=np.float32), (x.size, 1))
    spec = np.full(x.size, 0.07, dtype=np.float32)
    shin = np.full(x.size, 14.0, dtype=np.float32)
    wrap = np.full(x.size, 0.4, dtype=np.float32)
    # Skin: pores, blotches, blush, under-eye shadow, stubble, oily T-zone.
    pores = _lookup(fine, x, y, 48.0, 48.0)
    blotch = _lookup(coarse, x, y, 8.0, 8.0)
    skin = f32(skin * (1.0 + 0.035 * pores + 0.035 * blotch)[:, None])
    cheeks = np.exp(-(((np.abs(x) - 0.4) / 0.13) ** 2 + ((y - idn.eye_y + 0.25) / 0.13) ** 2))
    skin = _mix(skin, skin * f32([1.06, 0.82, 0.82]), f32(0.6 * idn.blush * cheeks * front))
    under = np.exp(-(((np.abs(x) - idn.eye_x) / 0.1) ** 2 + ((y - idn.eye_y + 0.08) / 0.04) ** 2))
    lids = np.exp(-(((np.abs(x) - idn.eye_x) / 0.16) ** 2 + ((y - idn.eye_y - 0.02) / 0.09) ** 2))
    skin = skin * (1.0 - 0.1 * under - 0.12 * lids)[:, None]
    beard_zone = smoothstep(idn.mouth_y + 0.14, idn.mouth_y + 0.06, y) * smoothstep(
        0.75, 0.55, np.abs(x) / shape.a
    )
    beard_w = idn.beard * beard_zone * (0.3 + 0.15 * pores) * front
    skin = _mix(skin, (0.2, 0.2, 0.24), beard_w)
    tzone = np.exp(-((x / 0.12) ** 2)) * smoothstep(idn.mouth_y + 0.1, idn.eye_y, y)
    spec = spec + 0.1 * tzone * front
    colour = skin
    if mask is None:
        colour, eyes = _paint_features(colour, x, y, idn, expr, front)
        spec = spec * (1 - eyes) + 0.5 * eyes
        shin = shin * (1 - eyes) + 150.0 * eyes
        wrap = wrap * (1 - eyes)
    else:
        colour, spec, shin, wrap = _paint_mask(shape, colour, x, y, z, idn, mask, spec, shin, wrap)
    # Hair on top of everything (it also frames a mask).
    hw = _hair_weight(shape, x, y, z, idn)
    strands = _lookup(fine, x, y, 90.0, 6.0)
    hair = np.asarray(hair_rgb, dtype=np.float32) * (1.0 + 0.28 * strands)[:, None]
    colour = _mix(colour, np.clip(hair, 0.0, 1.0), hw)
    spec = spec * (1 - hw) + 0.1 * hw
    shin = shin * (1 - hw) + 8.0 * hw
    wrap = wrap * (1 - hw) + 0.15 * hw
    return Surface(srgb_to_linear(colour), spec, shin, wrap)


def _box(x: np.ndarray, y: np.ndarray, cx: float, cy: float, hx: float, hy: float) -> np.ndarray:
    """Indices of the points inside an axis-aligned box (features are painted only there)."""
    return np.flatnonzero((np.abs(x - cx) < hx) & (np.abs(y - cy) < hy))


def _paint_features(
    colour: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    idn: Identity,
    expr: Expression,
    front: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Paint brows, eyes, nostrils and mouth of a live face; returns (colour, eye weight)."""
    eyes = np.zeros_like(x)
    skin_mean = np.asarray(idn.skin, dtype=np.float32)
    nostril_y = idn.eye_y - idn.nose_len - 0.035
    i = _box(x, y, 0.0, nostril_y, idn.nose_w + 0.05, 0.06)
    nostrils = np.exp(
        -(((np.abs(x[i]) - 0.42 * idn.nose_w) / 0.03) ** 2) - ((y[i] - nostril_y) / 0.016) ** 2
    )
    colour[i] = _mix(colour[i], skin_mean * 0.3, 0.85 * nostrils * front[i])
    brow_y = idn.brow_y + 0.05 * expr.brow_raise + idn.brow_arch / 2
    i = _box(x, y, 0.0, brow_y, idn.eye_x + 0.22, 0.1)
    brow = _brow(x[i], y[i], idn, expr)
    colour[i] = _mix(colour[i], np.asarray(idn.hair) * 0.9, 0.9 * brow * front[i])
    for side in (-1.0, 1.0):
        i = _box(x, y, side * idn.eye_x, idn.eye_y + 0.02, 1.25 * idn.eye_w, 1.1 * idn.eye_w)
        inside, eye_col, lash, crease = _eye(x[i], y[i], idn, expr, idn.iris, side)
        c = _mix(colour[i], colour[i] * 0.8, 0.5 * crease * front[i])
        c = _mix(c, eye_col, inside * front[i])
        colour[i] = _mix(c, (0.05, 0.04, 0.04), 0.9 * lash * front[i])
        eyes[i] = np.maximum(eyes[i], inside * front[i])
    i = _box(x, y, 0.0, idn.mouth_y, idn.mouth_w * 1.25, 0.16)
    lips, interior, teeth = _mouth(x[i], y[i], idn, expr)
    c = _mix(colour[i], idn.lip, lips * front[i])
    c = _mix(c, (0.22, 0.06, 0.06), interior * front[i])
    colour[i] = _mix(c, (0.86, 0.83, 0.76), teeth * front[i])
    return colour, eyes


def _print_surface(paint: np.ndarray, x: np.ndarray, y: np.ndarray, mask: MaskLook) -> np.ndarray:
    """Halftone dots (one phase per ink) and layer lines of a 3D-printed mask's surface."""
    finish = mask.printed
    if finish is None:
        return paint
    a = np.deg2rad(finish.dot_angle)
    u = (x * np.cos(a) + y * np.sin(a)) / finish.dot_period
    v = (-x * np.sin(a) + y * np.cos(a)) / finish.dot_period
    phase = np.array([0.0, 1.0 / 3.0, 2.0 / 3.0], dtype=np.float32)
    dots = np.cos(2 * np.pi * (u[:, None] + phase)) * np.cos(2 * np.pi * (v[:, None] + phase))
    ridges = 0.5 * (1.0 + np.cos(2 * np.pi * y / finish.layer_period))
    toned = paint + finish.gamut * (0.15 + 0.72 * paint - paint)  # paper white and ink density
    grey = toned.mean(-1, keepdims=True)
    toned = grey + (1.0 - 0.25 * finish.gamut) * (toned - grey)  # reduced ink gamut
    out = toned * (1.0 + finish.dots * dots) * (1.0 - finish.layers * ridges)[:, None]
    return f32(np.clip(out, 0.0, 1.0))


def _paint_mask(
    shape: HeadShape,
    colour: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    idn: Identity,
    mask: MaskLook,
    spec: np.ndarray,
    shin: np.ndarray,
    wrap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cover the face with a rigid painted mask with eye holes; the wearer shows around it."""
    q = outline_q(shape, x, y)
    cover = smoothstep(0.95, 0.88, q) * smoothstep(mask.top + 0.01, mask.top - 0.01, y)
    cover *= smoothstep(0.02, 0.12, z)
    neutral = Expression()
    paint = np.tile(np.asarray(mask.colour, dtype=np.float32), (x.size, 1))
    lips, interior, _ = _mouth(x, y, idn, neutral)
    paint = _mix(paint, idn.lip, mask.paint_features * lips)
    paint = _mix(paint, paint * 0.55, mask.paint_features * interior)
    paint = _mix(paint, (0.2, 0.15, 0.12), 0.8 * mask.paint_features * _brow(x, y, idn, neutral))
    nostril_y = idn.eye_y - idn.nose_len - 0.035
    nostrils = np.exp(
        -(((np.abs(x) - 0.42 * idn.nose_w) / 0.03) ** 2) - ((y - nostril_y) / 0.016) ** 2
    )
    paint = _mix(paint, paint * 0.5, 0.6 * nostrils)
    paint = _print_surface(paint, x, y, mask)
    # Eye holes: the wearer's eyes, recessed behind the mask, with a shadowed rim.
    hole_r = np.full_like(x, np.inf)
    for side in (-1.0, 1.0):
        rx = (x - side * idn.eye_x) / (1.25 * idn.eye_w * mask.hole)
        ry = (y - idn.eye_y) / (0.7 * idn.eye_w * mask.hole)
        hole_r = np.minimum(hole_r, np.hypot(rx, ry))
    wearer_eyes = colour.copy()
    for side in (-1.0, 1.0):
        inside, eye_col, lash, _ = _eye(x, y, idn, neutral, mask.wearer_iris, side)
        wearer_eyes = _mix(wearer_eyes, eye_col, inside)
        wearer_eyes = _mix(wearer_eyes, (0.05, 0.04, 0.04), 0.9 * lash)
    wearer_eyes = wearer_eyes * 0.7
    hole = smoothstep(1.0, 0.94, hole_r)
    rim = _band(hole_r - 1.04, 0.05, 0.05)
    paint = _mix(paint, paint * 0.6, 0.8 * rim)
    paint = _mix(paint, wearer_eyes, hole)
    seam = _band(q - 0.915, 0.012, 0.01) * smoothstep(mask.top + 0.02, mask.top - 0.05, y)
    seam = np.maximum(seam, _band(y - mask.top, 0.01, 0.01) * smoothstep(0.96, 0.9, q))
    out = _mix(colour, paint, cover)
    out = _mix(out, out * 0.7, 0.7 * seam * smoothstep(0.0, 0.1, z))
    solid = cover * (1 - hole)
    spec = spec * (1 - solid) + mask.gloss * solid
    shin = shin * (1 - solid) + mask.shininess * solid
    wrap = wrap * (1 - solid) + mask.wrap * solid
    return out, spec, shin, wrap
