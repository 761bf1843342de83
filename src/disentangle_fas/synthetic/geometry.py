"""The implicit head surface and an orthographic ray caster for it.

The head is the solid ``E(X, Y, Z) < 1`` with

    E = q(X, Y) + ((Z - H(X, Y)) / c)^2   for Z > 0 (the face side),
    E = q(X, Y) + (Z / c)^2               for Z <= 0,

where ``q = (X / A(Y))^2 + (Y / B(Y))^2`` is an egg-shaped outline (``A`` narrows towards
the chin) and ``H`` is a smooth relief (nose, brow ridge, eye sockets, cheekbones, lips,
chin) tabulated on a grid and faded to zero before the silhouette. Rays are marched from
the bounding ellipsoid's entry point, refined by bisection; normals are the normalised
gradient of ``E`` by central differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.face import (
    Expression,
    Framing,
    Identity,
    Pose,
    landmarks_head,
    rotation_matrix,
)
from disentangle_fas.synthetic.imageops import f32, sample_bilinear

__all__ = [
    "HeadGeometry",
    "HeadShape",
    "cast_head",
    "front_height",
    "head_shape",
    "outline_q",
    "project_landmarks",
    "relief_at",
]

_TABLE_N = 112
_TABLE_X = 1.05
_TABLE_Y = 1.15
_MARCH_STEPS = 16
_SHELL_STEPS = 7
_NEWTON_STEPS = 1
_BISECT_STEPS = 5


@dataclass(frozen=True)
class HeadShape:
    """The head surface of one identity with one expression.

    Attributes:
        a: half-width of the outline.
        c: half-depth.
        crown: vertical radius above ``Y = 0``.
        jaw: jaw taper.
        relief: ``(N, N)`` table of ``H`` over ``[-1.05, 1.05] x [-1.15, 1.15]`` (row 0 is
            the top, ``Y = 1.15``).
        max_relief: ``max(H, 0)``, for the bounding ellipsoid.
        relief_grad: ``(N, N, 3)`` table of ``(H, dH/dX, dH/dY)``.
    """

    a: float
    c: float
    crown: float
    jaw: float
    relief: np.ndarray
    max_relief: float
    relief_grad: np.ndarray


@dataclass(frozen=True)
class HeadGeometry:
    """Ray-cast head in an ``S x S`` image.

    Attributes:
        hit: ``(S, S)`` bool, pixels whose ray hits the head.
        points: ``(N, 3)`` head-frame hit points of the hit pixels (row-major order).
        depth: ``(N,)`` camera-frame depth (larger is nearer the camera).
        normals: ``(N, 3)`` camera-frame unit normals.
        relief: ``(N,)`` relief ``H`` at the hit points (used for ambient occlusion).
    """

    hit: np.ndarray
    points: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    relief: np.ndarray


def _gauss1(t: np.ndarray, mu: float, s: float) -> np.ndarray:
    return np.exp(-(((t - mu) / s) ** 2))


def outline_q(shape: HeadShape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the outline function ``q(X, Y)`` (``q < 1`` inside the head's outline)."""
    taper = np.clip((np.float32(0.15) - y) * np.float32(1 / 1.15), 0.0, 1.0)
    inv_w = np.float32(1.0 / shape.a) / (1.0 - np.float32(shape.jaw) * taper * taper)
    inv_h = np.where(y > 0, np.float32(1.0 / shape.crown), np.float32(1.0))
    return f32((x * inv_w) ** 2 + (y * inv_h) ** 2)


def head_shape(idn: Identity, expr: Expression) -> HeadShape:
    """Tabulate the relief ``H`` of an identity with an expression.

    Args:
        idn: identity.
        expr: expression.

    Returns:
        The head shape.
    """
    xs = np.linspace(-_TABLE_X, _TABLE_X, _TABLE_N)
    ys = np.linspace(_TABLE_Y, -_TABLE_Y, _TABLE_N)
    h = np.zeros((_TABLE_N, _TABLE_N))

    def blob(amp: float, x0: float, y0: float, sx: float, sy: float, mirror: bool) -> None:
        gy = _gauss1(ys, y0, sy)[:, None]
        gx = _gauss1(xs, x0, sx) + (_gauss1(xs, -x0, sx) if mirror else 0.0)
        h[:] += amp * gy * gx[None, :]

    ex, ey = idn.eye_x, idn.eye_y
    tip_y = ey - idn.nose_len
    my = idn.mouth_y
    gap = 0.09 * expr.mouth_open
    blob(0.045, ex, idn.brow_y - 0.03 + 0.02 * expr.brow_raise, 0.2, 0.06, True)
    blob(-0.1, ex, ey + 0.01, 0.17, 0.1, True)
    blob(0.05, ex, ey, 0.085, 0.055, True)
    blob(0.035 + 0.02 * expr.smile, 0.41, ey - 0.24 + 0.04 * expr.smile, 0.14, 0.12, True)
    blob(-0.04, 0.63, ey + 0.15, 0.1, 0.18, True)
    blob(0.06, 0.0, my + 0.07, 0.2, 0.09, False)
    blob(0.025, 0.0, my + 0.5 * idn.lip_t, idn.mouth_w * 0.8, 0.03, False)
    blob(0.03, 0.0, my - gap - 0.6 * idn.lip_t, idn.mouth_w * 0.7, 0.035, False)
    blob(0.055, 0.0, -0.82 - 0.5 * gap, 0.16, 0.09, False)
    blob(0.05, idn.nose_w * 0.55, tip_y + 0.03, 0.05, 0.04, True)
    # Nose ridge: grows from the bridge to the tip, then falls off steeply.
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    t = np.clip((ey + 0.02 - yy) / (ey + 0.02 - tip_y), 0.0, 1.0)
    amp = idn.nose_h * (0.22 + 0.78 * t**1.6)
    width = 0.045 + 0.5 * idn.nose_w * t
    below = np.where(yy < tip_y, np.exp(-(((yy - tip_y) / 0.045) ** 2)), 1.0)
    above = np.where(yy > ey + 0.02, np.exp(-(((yy - ey - 0.02) / 0.08) ** 2)), 1.0)
    h += amp * np.exp(-((xx / width) ** 2)) * below * above
    shape = HeadShape(idn.head_width, idn.head_depth, idn.crown, idn.jaw, h, 0.0, h)
    q = outline_q(shape, xx.astype(np.float32), yy.astype(np.float32))
    h *= np.clip((0.95 - q) / 0.3, 0.0, 1.0) ** 2
    table = h.astype(np.float32)
    d_row, d_col = np.gradient(table)
    grad = np.stack(
        [
            table,
            d_col / np.float32(2 * _TABLE_X / (_TABLE_N - 1)),
            -d_row / np.float32(2 * _TABLE_Y / (_TABLE_N - 1)),
        ],
        axis=-1,
    ).astype(np.float32)
    return HeadShape(
        idn.head_width,
        idn.head_depth,
        idn.crown,
        idn.jaw,
        table,
        float(max(h.max(), 0.0)),
        grad,
    )


def relief_at(shape: HeadShape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Look up the relief ``H`` at head-frame ``(x, y)`` (bilinear; clamped to the table)."""
    scale = np.float32((_TABLE_N - 1) / (2 * _TABLE_X))
    col = (x + np.float32(_TABLE_X)) * scale + np.float32(0.5)
    row = (np.float32(_TABLE_Y) - y) * np.float32((_TABLE_N - 1) / (2 * _TABLE_Y)) + np.float32(0.5)
    return sample_bilinear(shape.relief, col, row)


def _relief_nearest(shape: HeadShape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = _TABLE_N
    col = np.clip((x + np.float32(_TABLE_X)) * np.float32((n - 1) / (2 * _TABLE_X)) + 0.5, 0, n - 1)
    row = np.clip((np.float32(_TABLE_Y) - y) * np.float32((n - 1) / (2 * _TABLE_Y)) + 0.5, 0, n - 1)
    return f32(shape.relief.ravel()[row.astype(np.int32) * n + col.astype(np.int32)])


def _energy(
    shape: HeadShape, x: np.ndarray, y: np.ndarray, z: np.ndarray, coarse: bool = False
) -> np.ndarray:
    relief = _relief_nearest(shape, x, y) if coarse else relief_at(shape, x, y)
    zs = np.where(z > 0, z - relief, z)
    return outline_q(shape, x, y) + (zs * np.float32(1.0 / shape.c)) ** 2


def _energy_grad(
    shape: HeadShape, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``E`` and its gradient ``(N, 3)`` (relief from the bilinear table)."""
    scale = np.float32((_TABLE_N - 1) / (2 * _TABLE_X))
    col = (x + np.float32(_TABLE_X)) * scale + np.float32(0.5)
    row = (np.float32(_TABLE_Y) - y) * np.float32((_TABLE_N - 1) / (2 * _TABLE_Y)) + np.float32(0.5)
    t = sample_bilinear(shape.relief_grad, col, row)
    front = z > 0
    zs = np.where(front, z - t[:, 0], z)
    eps = np.float32(1e-3)
    qx = (outline_q(shape, x + eps, y) - outline_q(shape, x - eps, y)) / (2 * eps)
    qy = (outline_q(shape, x, y + eps) - outline_q(shape, x, y - eps)) / (2 * eps)
    k = 2.0 * zs / np.float32(shape.c**2)
    grad = np.stack(
        [qx - np.where(front, k * t[:, 1], 0.0), qy - np.where(front, k * t[:, 2], 0.0), k], axis=1
    )
    return outline_q(shape, x, y) + (zs / np.float32(shape.c)) ** 2, grad.astype(np.float32)


def front_height(shape: HeadShape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return the face-side surface height ``Z`` at head-frame ``(x, y)`` (0 outside)."""
    q = outline_q(shape, x, y)
    return np.where(q < 1, relief_at(shape, x, y) + shape.c * np.sqrt(np.clip(1 - q, 0, 1)), 0.0)


def _pixel_grid(size: int, framing: Framing) -> tuple[np.ndarray, np.ndarray]:
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
    u = np.float32(framing.cx) + np.float32(framing.half_span) * centres
    v = np.float32(framing.cy) - np.float32(framing.half_span) * centres
    return np.meshgrid(u, v, indexing="xy")


def _ellipsoid_hits(
    ox: np.ndarray,
    oy: np.ndarray,
    oz: np.ndarray,
    d: np.ndarray,
    radii: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit ray parameters of an axis-aligned ellipsoid (``inf`` on a miss)."""
    r = np.asarray(radii, dtype=np.float32)
    qa = float(np.sum((d / r) ** 2))
    qb = 2.0 * (ox * (d[0] / r[0] ** 2) + oy * (d[1] / r[1] ** 2) + oz * (d[2] / r[2] ** 2))
    qc = (ox / r[0]) ** 2 + (oy / r[1]) ** 2 + (oz / r[2]) ** 2 - 1.0
    disc = qb * qb - 4 * qa * qc
    root = np.sqrt(np.maximum(disc, 0.0))
    miss = disc <= 0
    s_in = np.where(miss, np.inf, (-qb + root) / (2 * qa))
    s_out = np.where(miss, np.inf, (-qb - root) / (2 * qa))
    return s_in.astype(np.float32), s_out.astype(np.float32)


def cast_head(shape: HeadShape, pose: Pose, framing: Framing, size: int) -> HeadGeometry:
    """Ray-cast the head into a ``size x size`` image.

    Args:
        shape: head surface.
        pose: head rotation.
        framing: crop placement.
        size: image side in pixels.

    Returns:
        The per-pixel geometry of the visible head surface.
    """
    rot = rotation_matrix(pose).astype(np.float32)
    uu, vv = _pixel_grid(size, framing)
    u, v = uu.ravel(), vv.ravel()
    d = rot[2]  # R^T e_z: the viewing axis in the head frame
    # origin = R^T (u, v, 0); the ray is origin + s * d (s grows towards the camera).
    ox = u * rot[0, 0] + v * rot[1, 0]
    oy = u * rot[0, 1] + v * rot[1, 1]
    oz = u * rot[0, 2] + v * rot[1, 2]
    outer = (shape.a * 1.01, max(shape.crown, 1.0) * 1.01, shape.c + shape.max_relief)
    s_in, s_out = _ellipsoid_hits(ox, oy, oz, d, outer)
    cand = np.flatnonzero(np.isfinite(s_in))
    ox, oy, oz, s_in, s_out = ox[cand], oy[cand], oz[cand], s_in[cand], s_out[cand]
    # Most rays meet a core ellipsoid that lies inside the head: their first surface
    # crossing is in the thin shell before it, which a short march resolves finely.
    inner = (0.95 * shape.a * (1 - shape.jaw), 0.95, shape.c - 0.12)
    s_core, _ = _ellipsoid_hits(ox, oy, oz, d, inner)
    near = np.isfinite(s_core)
    s_end = np.where(near, s_core, s_out)
    lo = np.zeros_like(s_in)
    hi = np.zeros_like(s_in)
    found = np.zeros(cand.size, dtype=bool)
    for subset, stop, n in ((near, s_end, _SHELL_STEPS), (None, s_out, _MARCH_STEPS)):
        todo = np.flatnonzero(subset & ~found if subset is not None else ~found)
        if todo.size == 0:
            continue
        steps = np.linspace(0.0, 1.0, n, dtype=np.float32)
        grid = s_in[todo, None] + (stop[todo] - s_in[todo])[:, None] * steps[None, :]
        inside = (
            _energy(
                shape,
                ox[todo, None] + grid * d[0],
                oy[todo, None] + grid * d[1],
                oz[todo, None] + grid * d[2],
                coarse=True,
            )
            < 1.0
        )
        ok = inside.any(axis=1)
        first = np.argmax(inside, axis=1)
        rows = np.arange(todo.size)
        hi[todo] = grid[rows, np.maximum(first - 1, 0)]  # outside (or the entry point)
        lo[todo] = grid[rows, first]  # inside
        found[todo] = ok
    cand, ox, oy, oz, lo, hi = cand[found], ox[found], oy[found], oz[found], lo[found], hi[found]
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (hi + lo)
        ins = _energy(shape, ox + mid * d[0], oy + mid * d[1], oz + mid * d[2], coarse=True) < 1.0
        lo = np.where(ins, mid, lo)
        hi = np.where(ins, hi, mid)
    s_hit = 0.5 * (hi + lo)
    for _ in range(_NEWTON_STEPS):  # along the ray, on the smooth (bilinear) surface
        e, grad = _energy_grad(shape, ox + s_hit * d[0], oy + s_hit * d[1], oz + s_hit * d[2])
        slope = grad @ d
        step = np.where(slope > 1e-3, (e - 1.0) / np.maximum(slope, 1e-3), 0.0)
        s_hit = np.clip(s_hit - step, lo - (hi - lo), hi + (hi - lo))
    p = np.stack([ox + s_hit * d[0], oy + s_hit * d[1], oz + s_hit * d[2]], axis=1)
    grad /= np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-12)
    hit = np.zeros(size * size, dtype=bool)
    hit[cand] = True
    relief = _relief_nearest(shape, p[:, 0], p[:, 1]) * (p[:, 2] > 0)
    return HeadGeometry(
        hit=hit.reshape(size, size),
        points=p,
        depth=s_hit.astype(np.float32),
        normals=(grad @ rot.T).astype(np.float32),
        relief=relief.astype(np.float32),
    )


def project_landmarks(
    shape: HeadShape,
    idn: Identity,
    expr: Expression,
    pose: Pose,
    framing: Framing,
    size: int,
) -> np.ndarray:
    """Project the landmarks (on the face surface) into pixel coordinates.

    Pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``; its centre is ``(j + 0.5, i + 0.5)``.

    Args:
        shape: head surface.
        idn: identity.
        expr: expression.
        pose: head rotation.
        framing: crop placement.
        size: image side in pixels.

    Returns:
        ``(K, 2)`` float32 array of ``(x, y)`` pixel coordinates.
    """
    xy = landmarks_head(idn, expr)
    z = front_height(shape, xy[:, 0], xy[:, 1])
    cam = np.concatenate([xy, z[:, None]], axis=1) @ rotation_matrix(pose).T
    col = ((cam[:, 0] - framing.cx) / framing.half_span + 1.0) * size / 2.0
    row = (1.0 - (cam[:, 1] - framing.cy) / framing.half_span) * size / 2.0
    return np.stack([col, row], axis=1).astype(np.float32)
