"""Attack parameter sampling and the recapture of a print or a replay.

Attack ids (see :mod:`~disentangle_fas.synthetic.labels`): ``0`` live (bona fide),
``1`` print (a halftone print of a photo on paper), ``2`` replay (a photo or video shown
on a screen), ``3`` mask (a rigid painted 3D mask with eye holes, worn by someone else;
the attack held out as "unseen" by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from disentangle_fas.synthetic.face import Identity
from disentangle_fas.synthetic.imageops import (
    f32,
    gaussian_blur,
    jpeg_roundtrip,
    sample_bilinear,
    smoothstep,
)
from disentangle_fas.synthetic.media import (
    Placement,
    PrintParams,
    ScreenParams,
    glare_map,
    place_medium,
    print_reflectance,
    screen_emission,
    srgb_content,
    warp_points,
)
from disentangle_fas.synthetic.render import HeadRender, Light
from disentangle_fas.synthetic.texture import MaskLook, PrintedFinish

__all__ = [
    "Recapture",
    "compose_print",
    "compose_replay",
    "sample_mask_look",
    "sample_placement",
    "sample_print",
    "sample_screen",
]


def sample_placement(rng: np.random.Generator, edge_prob: float) -> Placement:
    """Draw the pose of a hand-held medium.

    Args:
        rng: random generator.
        edge_prob: probability that each edge of the medium falls inside the picture.

    Returns:
        The placement.
    """

    def edge() -> float:
        return float(rng.uniform(0.0, 0.1)) if rng.random() < edge_prob else -0.6

    x0, y0, x1, y1 = edge(), edge(), 1.0 - edge(), 1.0 - edge()
    return Placement(
        scale=float(rng.uniform(0.88, 1.08)),
        angle=float(rng.normal(0.0, 4.0)),
        shift=(float(rng.normal(0.0, 0.03)), float(rng.normal(0.0, 0.03))),
        tilt=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.2, 0.2))),
        rect=(x0, y0, x1, y1),
        bend=float(rng.uniform(0.0, 0.6)) if rng.random() < 0.5 else 0.0,
    )


def _lerp(lo: float, hi: float, t: float) -> float:
    return lo + (hi - lo) * t


def sample_print(rng: np.random.Generator, cue: float, quality: float) -> PrintParams:
    """Draw a printer and paper.

    Args:
        rng: random generator.
        cue: domain cue strength (scales the visibility of halftone and paper texture).
        quality: 0 (cheap office print: coarse dots, impure inks, grey paper) to 1 (photo
            print: fine dots, dense inks, white glossy paper).

    Returns:
        The print parameters.
    """
    q = float(np.clip(quality, 0.0, 1.0))
    white = _lerp(0.76, 0.92, q) * rng.uniform(0.97, 1.03)
    return PrintParams(
        period=_lerp(2.4, 0.8, q) * float(rng.uniform(0.85, 1.15)),
        angle=float(rng.uniform(0.0, 90.0)),
        softness=_lerp(0.08, 0.35, q),
        halftone=float(np.clip(cue * _lerp(1.0, 0.5, q) * rng.uniform(0.8, 1.0), 0.0, 1.0)),
        gcr=float(rng.uniform(0.4, 0.9)),
        ink_density=_lerp(0.78, 0.97, q),
        paper=(white * rng.uniform(0.97, 1.0), white, white * rng.uniform(0.88, 0.98)),
        grain=cue * _lerp(0.06, 0.015, q),
        fibres=cue * _lerp(0.04, 0.01, q),
        gloss=float(rng.uniform(0.0, 0.1) + q * rng.uniform(0.0, 0.25)),
        margin=float(rng.uniform(0.02, 0.06)) if rng.random() < 0.4 else 0.0,
        crosstalk=_lerp(1.6, 0.7, q),
        enhance=(float(rng.uniform(1.0, 1.35)), float(rng.uniform(0.9, 1.4))),
        tone=float(rng.uniform(1.6, 2.4)),
    )


def sample_screen(rng: np.random.Generator, cue: float, quality: float) -> ScreenParams:
    """Draw a display (phone, tablet or laptop screen).

    Args:
        rng: random generator.
        cue: domain cue strength (scales the sub-pixel grid contrast).
        quality: 0 (coarse, washed-out, tinted panel) to 1 (fine-pitch, deep blacks).

    Returns:
        The screen parameters.
    """
    q = float(np.clip(quality, 0.0, 1.0))
    warm = rng.uniform(-1.0, 1.0) * _lerp(1.0, 0.3, q)
    return ScreenParams(
        pitch=_lerp(1.9, 0.6, q) * float(rng.uniform(0.85, 1.15)),
        angle=float(rng.normal(0.0, 3.0)),
        grid=float(np.clip(cue * _lerp(0.75, 0.3, q) * rng.uniform(0.7, 1.0), 0.0, 0.9)),
        gamma=float(rng.uniform(1.8, 2.6)),
        brightness=float(rng.uniform(0.8, 1.8)),
        black=_lerp(0.07, 0.005, q),
        tint=(1.0 - 0.06 * warm, 1.0, 1.0 + 0.12 * warm),
        glare=float(rng.uniform(0.0, 0.6)) if rng.random() < 0.6 else 0.0,
        glare_pos=(float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9))),
        glare_size=float(rng.uniform(0.1, 0.35)),
        reflection=float(rng.uniform(0.02, 0.12)),
        bezel=float(rng.uniform(0.03, 0.08)),
        enhance=(float(rng.uniform(0.95, 1.25)), float(rng.uniform(0.9, 1.35))),
    )


def sample_mask_look(
    rng: np.random.Generator,
    victim: Identity,
    wearer: Identity,
    print_prob: float = 0.5,
    cue: float = 1.0,
) -> MaskLook:
    """Draw a rigid mask that copies ``victim`` and is worn by ``wearer``.

    With probability ``print_prob`` the mask is a full-colour 3D print of the victim's
    photo: its surface shows halftone dots and printing layer lines (contrast scaled by
    ``cue``) and the dull tones of printed ink; otherwise it is a hand-painted cast with a
    smooth surface. The material scatters light below its surface anywhere between hard
    resin (none) and silicone.

    Args:
        rng: random generator.
        victim: the impersonated identity (the mask's shape and paint).
        wearer: the person behind the mask (skin, hair and eyes around and through it).
        print_prob: probability of a 3D-printed mask.
        cue: domain cue strength (scales the dots' and layer lines' contrast).

    Returns:
        The mask's look.
    """
    paint = np.asarray(victim.skin) * rng.uniform(0.9, 1.1) + rng.normal(0.0, 0.03, 3)
    paint = 0.75 * paint + 0.25 * np.array([0.85, 0.75, 0.65]) * rng.uniform(0.8, 1.1)
    p = np.clip(paint, 0.0, 1.0)
    # Drawn in this order (the generator's stream fixes every rendered mask).
    gloss = float(rng.uniform(0.05, 0.35))
    shininess = float(rng.uniform(15.0, 60.0))
    top = float(victim.hairline - rng.uniform(0.0, 0.12))
    hole = float(rng.uniform(0.95, 1.25))
    paint_features = float(rng.uniform(0.3, 0.9))
    relief = float(rng.uniform(0.3, 0.9))
    wrap, printed = _material(rng, print_prob, cue)
    return MaskLook(
        colour=(float(p[0]), float(p[1]), float(p[2])),
        gloss=gloss,
        shininess=shininess,
        top=top,
        hole=hole,
        wearer_skin=wearer.skin,
        wearer_hair=wearer.hair,
        wearer_iris=wearer.iris,
        paint_features=paint_features,
        relief=relief,
        wrap=wrap,
        printed=printed,
    )


def _material(
    rng: np.random.Generator, print_prob: float, cue: float
) -> tuple[float, PrintedFinish | None]:
    """The material: its subsurface scattering (``wrap``), and the printed finish (dots,
    layer lines, ink tones) of a printed mask (``None`` for a painted one).
    """
    printed = rng.random() < print_prob
    dots = cue * float(rng.uniform(0.45, 0.85))
    layers = cue * float(rng.uniform(0.1, 0.3))
    wrap = float(rng.uniform(0.0, 0.4))
    gamut = float(rng.uniform(0.5, 1.0))
    # A painted cast draws the finish too, so that both kinds consume the same stream.
    finish = PrintedFinish(
        dots=dots,
        dot_period=float(rng.uniform(0.08, 0.14)),
        dot_angle=float(rng.uniform(0.0, 90.0)),
        layers=layers,
        layer_period=float(rng.uniform(0.03, 0.06)),
        gamut=gamut,
    )
    return wrap, finish if printed else None


@dataclass(frozen=True)
class Recapture:
    """A medium imaged in the scene, with the source face's geometry carried along.

    Attributes:
        radiance: ``(S, S, 3)`` linear RGB seen by the camera.
        head: ``(S, S)`` face coverage in the camera image.
        position: ``(S, S, 3)`` position map in the camera image.
        depth: ``(S, S)`` depth map in the camera image.
        landmarks: ``(K, 2)`` landmark pixels in the camera image.
    """

    radiance: np.ndarray
    head: np.ndarray
    position: np.ndarray
    depth: np.ndarray
    landmarks: np.ndarray


def _carry(
    source: HeadRender, cx: np.ndarray, cy: np.ndarray, visible: np.ndarray, placement: Placement
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Warp the source's ground-truth maps into the camera image."""
    size = source.head.shape[0]
    cover = sample_bilinear(source.head, cx, cy) * visible
    head = (cover >= 0.5).astype(np.float32)
    safe = np.maximum(sample_bilinear(source.head, cx, cy), 1e-6)
    position = sample_bilinear(source.position, cx, cy) / safe[..., None] * head[..., None]
    depth = sample_bilinear(source.depth, cx, cy) / safe * head
    landmarks = warp_points(placement, source.landmarks, size)
    return head, np.clip(position, 0.0, 1.0), np.clip(depth, 0.0, 1.0), landmarks


def _plane_shading(light: Light, placement: Placement, xc: np.ndarray) -> np.ndarray:
    ldir = np.asarray(light.direction, dtype=np.float32)
    nx = 2.0 * placement.bend * (xc - 0.5) - 1.5 * placement.tilt[0]
    ny = np.full_like(xc, -1.5 * placement.tilt[1])
    n = np.stack([nx, ny, np.ones_like(xc)], axis=-1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return (light.ambient * 0.9 + light.key * np.clip(n @ ldir, 0.0, None)).astype(np.float32)


def _rect_mask(xc: np.ndarray, yc: np.ndarray, rect: tuple[float, ...], soft: float) -> np.ndarray:
    x0, y0, x1, y1 = rect
    return f32(
        smoothstep(x0 - soft, x0 + soft, xc)
        * smoothstep(x1 + soft, x1 - soft, xc)
        * smoothstep(y0 - soft, y0 + soft, yc)
        * smoothstep(y1 + soft, y1 - soft, yc)
    )


def compose_print(
    source: HeadRender,
    background: np.ndarray,
    light: Light,
    params: PrintParams,
    placement: Placement,
    world_per_px: float,
    rng: np.random.Generator,
) -> Recapture:
    """Print ``source`` on paper and hold it in front of the camera in the scene.

    Args:
        source: the victim's photo (a render with its own scene and light).
        background: ``(S, S, 3)`` linear scene behind the paper.
        light: the scene light falling on the paper.
        params: printer and paper.
        placement: pose of the paper.
        world_per_px: world pixels per output pixel.
        rng: random generator.

    Returns:
        The recaptured print.
    """
    size = background.shape[0]
    photo = gaussian_blur(srgb_content(source.rgb, *params.enhance), 0.4 * world_per_px)
    refl = print_reflectance(photo, params, world_per_px, rng)
    cx, cy, paper, xc = place_medium(placement, size)
    yc = cy / size
    picture = _rect_mask(xc, yc, _shrink(placement.rect, params.margin), 0.7 / size)
    seen = sample_bilinear(refl, cx, cy)
    white = np.asarray(params.paper, dtype=np.float32)
    surface = seen * picture[..., None] + white * (1 - picture[..., None])
    shade = _plane_shading(light, placement, xc)
    sheen = params.gloss * np.exp(-(((xc - 0.3) ** 2 + (yc - 0.25) ** 2) / 0.08))
    lcol = np.asarray(light.colour, dtype=np.float32)
    radiance = (surface * shade[..., None] + (light.key * sheen)[..., None]) * lcol
    out = background * (1 - paper[..., None]) + radiance * paper[..., None]
    head, position, depth, lms = _carry(source, cx, cy, paper * picture, placement)
    return Recapture(out.astype(np.float32), head, position, depth, lms)


def _shrink(rect: tuple[float, float, float, float], m: float) -> tuple[float, ...]:
    return (rect[0] + m, rect[1] + m, rect[2] - m, rect[3] - m)


def compose_replay(
    source: HeadRender,
    background: np.ndarray,
    light: Light,
    params: ScreenParams,
    placement: Placement,
    world_per_px: float,
    video_quality: int,
) -> Recapture:
    """Show ``source`` on a screen held in front of the camera in the scene.

    Args:
        source: the victim's recorded frame (a render with its own scene and light).
        background: ``(S, S, 3)`` linear scene behind the screen.
        light: the scene light (glare and reflections on the glass).
        params: the display.
        placement: pose of the screen.
        world_per_px: world pixels per output pixel.
        video_quality: JPEG quality standing in for the replayed video's compression.

    Returns:
        The recaptured replay.
    """
    size = background.shape[0]
    frame = jpeg_roundtrip(srgb_content(source.rgb, *params.enhance), video_quality)
    cx, cy, screen, xc = place_medium(placement, size)
    yc = cy / size
    shown = sample_bilinear(frame, cx, cy)
    emitted = screen_emission(shown, params, world_per_px)
    lcol = np.asarray(light.colour, dtype=np.float32)
    env = gaussian_blur(background[::-1], 4.0 * world_per_px) * params.reflection
    glass = (glare_map(params, size) * light.key)[..., None] * lcol + env
    display = emitted * (light.key + light.ambient) + glass
    x0, y0, x1, y1 = placement.rect
    b = params.bezel
    device = _rect_mask(xc, yc, (x0 - b, y0 - b, x1 + b, y1 + b), 0.7 / size)
    bezel_rgb = 0.04 * _plane_shading(light, placement, xc)[..., None] * lcol + glass
    body = display * screen[..., None] + bezel_rgb * (1 - screen[..., None])
    out = background * (1 - device[..., None]) + body * device[..., None]
    head, position, depth, lms = _carry(source, cx, cy, screen, placement)
    return Recapture(out.astype(np.float32), head, position, depth, lms)
