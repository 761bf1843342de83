"""Shading and compositing: a lit head (with its ground-truth maps) over neck, clothes and scene.

All images here are linear RGB at the *world* resolution (the renderer supersamples; the
camera model of :mod:`disentangle_fas.synthetic.domains` integrates them to the sensor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.face import Expression, Framing, Identity, Pose, rotation_matrix
from disentangle_fas.synthetic.geometry import cast_head, head_shape, project_landmarks
from disentangle_fas.synthetic.imageops import f32, resize, smoothstep, srgb_to_linear
from disentangle_fas.synthetic.texture import MaskLook, paint_head

__all__ = [
    "DEPTH_RANGE",
    "POSITION_RANGE",
    "HeadRender",
    "Light",
    "render_person",
    "sample_light",
]

#: Head-frame coordinates ``[-1.25, 1.25]`` map to ``[0, 1]`` in the position map, so every
#: head point is strictly inside ``(0, 1)`` and the background can be exactly zero.
POSITION_RANGE: float = 1.25
#: Camera depth ``z`` (head units, head centre at 0, camera side positive) maps to the depth
#: map as ``(z - DEPTH_RANGE[0]) / (DEPTH_RANGE[1] - DEPTH_RANGE[0])``, clipped to
#: ``[0.001, 1]`` so the face is never 0.
DEPTH_RANGE: tuple[float, float] = (-0.6, 1.2)


@dataclass(frozen=True)
class Light:
    """Scene illumination (camera frame; the camera looks along ``-Z``).

    Attributes:
        direction: unit vector from the surface towards the key light.
        colour: linear RGB colour of the light (about 1).
        key: key-light intensity.
        ambient: ambient (sky) intensity.
    """

    direction: tuple[float, float, float]
    colour: tuple[float, float, float]
    key: float
    ambient: float


def sample_light(
    rng: np.random.Generator,
    *,
    azimuth: tuple[float, float] = (-40.0, 40.0),
    elevation: tuple[float, float] = (5.0, 40.0),
    key: tuple[float, float] = (0.6, 0.9),
    ambient: tuple[float, float] = (0.25, 0.45),
    kelvin: tuple[float, float] = (3500.0, 6500.0),
) -> Light:
    """Draw a key + ambient light.

    Args:
        rng: random generator.
        azimuth: range of the horizontal angle from the camera axis (degrees, + = right).
        elevation: range of the vertical angle (degrees, + = above).
        key: range of the key intensity.
        ambient: range of the ambient intensity.
        kelvin: range of the colour temperature.

    Returns:
        The light.
    """
    az = np.radians(rng.uniform(*azimuth))
    el = np.radians(rng.uniform(*elevation))
    direction = (
        float(np.sin(az) * np.cos(el)),
        float(np.sin(el)),
        float(np.cos(az) * np.cos(el)),
    )
    return Light(
        direction, kelvin_rgb(float(rng.uniform(*kelvin))), rng.uniform(*key), rng.uniform(*ambient)
    )


def kelvin_rgb(kelvin: float) -> tuple[float, float, float]:
    """Approximate linear RGB of a black-body light, normalised to green = 1.

    Args:
        kelvin: colour temperature (about 2500-9000 K).

    Returns:
        ``(r, g, b)`` multipliers.
    """
    t = (kelvin - 6500.0) / 3000.0
    r = 1.0 - 0.2 * t if t > 0 else 1.0 - 0.3 * t
    b = 1.0 + 0.2 * t if t > 0 else 1.0 + 0.5 * t
    return (float(max(r, 0.3)), 1.0, float(max(b, 0.2)))


@dataclass(frozen=True)
class HeadRender:
    """A rendered person at world resolution, with ground truth.

    Attributes:
        rgb: ``(S, S, 3)`` linear RGB of the person (head, neck, clothes) over ``background``.
        head: ``(S, S)`` float32, 1 on the head, 0 elsewhere.
        position: ``(S, S, 3)`` head-frame ``(X, Y, Z)`` of the visible head surface mapped
            to ``(0, 1)`` (see :data:`POSITION_RANGE`), 0 off the head.
        depth: ``(S, S)`` camera depth of the head surface mapped to ``(0, 1]`` (1 nearest,
            see :data:`DEPTH_RANGE`), 0 off the head.
        landmarks: ``(K, 2)`` pixel coordinates ``(x, y)`` (pixel centres at ``+0.5``).
    """

    rgb: np.ndarray
    head: np.ndarray
    position: np.ndarray
    depth: np.ndarray
    landmarks: np.ndarray


def _shade(
    albedo: np.ndarray,
    normals: np.ndarray,
    light: Light,
    spec: np.ndarray,
    shininess: np.ndarray,
    wrap: np.ndarray,
    occlusion: np.ndarray,
) -> np.ndarray:
    ldir = np.asarray(light.direction, dtype=np.float32)
    lcol = np.asarray(light.colour, dtype=np.float32)
    ndl = normals @ ldir
    diffuse = np.clip((ndl + wrap) / (1.0 + wrap), 0.0, None)
    half = ldir + np.array([0.0, 0.0, 1.0], dtype=np.float32)
    half /= np.linalg.norm(half)
    ndh = np.clip(normals @ half, 0.0, 1.0)
    specular = spec * ndh**shininess * (ndl > 0)
    sky = light.ambient * (0.75 + 0.25 * normals[:, 1]) * occlusion
    direct = light.key * diffuse * (0.4 + 0.6 * occlusion)
    shade = (sky + direct)[:, None] * albedo + (light.key * specular)[:, None]
    return f32(shade * lcol)


def _body(
    size: int,
    idn: Identity,
    pose: Pose,
    framing: Framing,
    light: Light,
    clothes: tuple[float, float, float],
    skin: tuple[float, float, float],
    hair_rgb: tuple[float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Neck, ears, hair volume and shoulders in camera space; returns (rgb, alpha).

    Rendered at half resolution and upsampled (the layer has no fine detail).
    """
    full = size
    size = max(16, full // 2)
    c = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    uu, vv = np.meshgrid(framing.cx + framing.half_span * c, framing.cy - framing.half_span * c)
    top = rotation_matrix(pose) @ np.array([0.0, -0.55, -0.2])
    neck_w = 0.52 * idn.head_width
    rel = (uu - top[0] - 0.15 * (vv - top[1]) * np.sin(np.radians(pose.roll))) / neck_w
    neck = smoothstep(1.02, 0.97, np.abs(rel)) * smoothstep(top[1] + 0.05, top[1] - 0.05, vv)
    shoulder_y = top[1] - 0.62 - 0.45 * np.clip(np.abs(uu - top[0]) - 0.35, 0.0, None) ** 1.5
    cloth = smoothstep(shoulder_y - 0.02, shoulder_y - 0.06, vv)
    ldir = np.asarray(light.direction, dtype=np.float32)
    lcol = np.asarray(light.colour, dtype=np.float32)
    nx = np.clip(rel, -1.0, 1.0)
    neck_n = np.stack([nx, np.zeros_like(nx), np.sqrt(1 - nx * nx)], axis=-1)
    chin_shadow = 1.0 - 0.55 * smoothstep(top[1] - 0.35, top[1], vv)
    neck_shade = (light.ambient + light.key * np.clip(neck_n @ ldir, 0.0, None)) * chin_shadow
    rel_c = np.clip((uu - top[0]) / 1.6, -1.0, 1.0)
    cloth_n = np.stack([rel_c, 0.3 * np.ones_like(rel_c), np.sqrt(1 - rel_c**2)], axis=-1)
    cloth_n /= np.linalg.norm(cloth_n, axis=-1, keepdims=True)
    cloth_shade = light.ambient + light.key * np.clip(cloth_n @ ldir, 0.0, None)
    skin_lin = srgb_to_linear(np.asarray(skin, dtype=np.float32)) * 0.92
    cloth_lin = srgb_to_linear(np.asarray(clothes, dtype=np.float32))
    rgb = cloth[..., None] * cloth_shade[..., None] * cloth_lin
    rgb = rgb * (1 - neck[..., None]) + neck[..., None] * neck_shade[..., None] * skin_lin
    alpha = np.maximum(neck, cloth)
    rot = rotation_matrix(pose)
    # Ears: flat ellipses at the sides of the head (the head covers their inner half).
    for side in (-1.0, 1.0):
        ec = rot @ np.array([side * idn.head_width * 0.96, idn.eye_y - 0.14, -0.05])
        ex = (uu - ec[0]) / (0.075 + 0.04 * abs(np.sin(np.radians(pose.yaw))))
        ey = (vv - ec[1]) / 0.16
        r = np.hypot(ex, ey)
        ear = smoothstep(1.02, 0.95, r)
        shade = (light.ambient + light.key * max(side * ldir[0], 0.0) * 0.8 + 0.2 * light.key) * (
            1.0 - 0.35 * smoothstep(0.75, 0.45, r)
        )
        rgb = rgb * (1 - ear[..., None]) + ear[..., None] * shade[..., None] * skin_lin
        alpha = np.maximum(alpha, ear)
    # Hair volume around the skull (long hair falls to the jaw).
    hc = rot @ np.array([0.0, 0.1, -0.2])
    hx = (uu - hc[0]) / (idn.head_width * 1.08 + 0.04)
    hy = (vv - hc[1]) / (idn.crown * 0.98 + 0.06)
    cut = (rot @ np.array([0.0, idn.eye_y - 0.1 - 0.85 * max(idn.side_hair - 0.45, 0.0), 0.0]))[1]
    hair = smoothstep(1.02, 0.96, np.hypot(hx, hy)) * smoothstep(cut - 0.04, cut + 0.04, vv)
    hair = hair * (idn.hairline < 0.75)
    rng = np.random.default_rng(idn.texture_seed)
    strands = rng.uniform(-1.0, 1.0, size=(8, 96)).astype(np.float32)
    cols = (hx * 0.5 + 0.5) * 95
    rows = (hy * 0.5 + 0.5) * 7
    tex = strands[np.clip(rows, 0, 7).astype(int), np.clip(cols, 0, 95).astype(int)]
    hair_lin = srgb_to_linear(
        np.asarray(idn.hair, dtype=np.float32)
        if hair_rgb is None
        else np.asarray(hair_rgb, dtype=np.float32)
    )
    hair_shade = (light.ambient + light.key * (0.45 + 0.3 * hy.clip(-1, 1))) * (1 + 0.25 * tex)
    rgb = rgb * (1 - hair[..., None]) + hair[..., None] * hair_shade[..., None] * hair_lin
    alpha = np.maximum(alpha, hair)
    return resize((rgb * lcol).astype(np.float32), full, full), resize(alpha, full, full)


def _shallow(normals: np.ndarray, relief: float) -> np.ndarray:
    """Normals of a shallower cast: blended towards their mean by ``1 - relief``."""
    if relief >= 1.0 or normals.shape[0] == 0:
        return normals
    mean = normals.mean(0)
    mean = mean / max(float(np.linalg.norm(mean)), 1e-6)
    out = relief * normals + (1.0 - relief) * mean
    return f32(out / np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-6))


def render_person(
    idn: Identity,
    expr: Expression,
    pose: Pose,
    framing: Framing,
    light: Light,
    background: np.ndarray,
    clothes: tuple[float, float, float],
    mask: MaskLook | None = None,
) -> HeadRender:
    """Render a lit person over a background, with the head's ground-truth maps.

    Args:
        idn: identity (for a mask: the impersonated person whose geometry the mask copies).
        expr: expression (a rigid mask ignores it and keeps a neutral face).
        pose: head rotation.
        framing: crop placement.
        light: illumination.
        background: ``(S, S, 3)`` linear RGB scene; fixes the world resolution ``S``.
        clothes: clothing colour, sRGB.
        mask: a rigid mask covering the face, or ``None`` for a live face.

    Returns:
        The render.
    """
    size = background.shape[0]
    face_expr = Expression() if mask is not None else expr
    shape = head_shape(idn, face_expr)
    geo = cast_head(shape, pose, framing, size)
    surf = paint_head(shape, idn, face_expr, geo.points, mask)
    occlusion = np.clip(1.0 + 3.0 * np.minimum(geo.relief, 0.0), 0.55, 1.0)
    normals = geo.normals if mask is None else _shallow(geo.normals, mask.relief)
    shaded = _shade(surf.albedo, normals, light, surf.spec, surf.shininess, surf.wrap, occlusion)
    skin = idn.skin if mask is None else mask.wearer_skin
    hair_rgb = None if mask is None else mask.wearer_hair
    body_rgb, body_a = _body(size, idn, pose, framing, light, clothes, skin, hair_rgb)
    rgb = background * (1 - body_a[..., None]) + body_rgb
    flat = rgb.reshape(-1, 3)
    hit = geo.hit.ravel()
    flat[hit] = shaded
    position = np.zeros((size * size, 3), dtype=np.float32)
    position[hit] = (geo.points + POSITION_RANGE) / (2 * POSITION_RANGE)
    depth = np.zeros(size * size, dtype=np.float32)
    z0, z1 = DEPTH_RANGE
    depth[hit] = np.clip((geo.depth - z0) / (z1 - z0), 1e-3, 1.0)
    landmarks = project_landmarks(shape, idn, face_expr, pose, framing, size)
    return HeadRender(
        rgb=flat.reshape(size, size, 3),
        head=geo.hit.astype(np.float32),
        position=position.reshape(size, size, 3),
        depth=depth.reshape(size, size),
        landmarks=landmarks,
    )
