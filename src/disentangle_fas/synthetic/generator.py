"""One sample, end to end: identity, session, attack, scene, camera, and the ground truth.

Randomness is keyed (see :func:`~disentangle_fas.synthetic._rng.derive_rng`):

* ``(seed, split, domain, "subject", s)`` -- the person (shape, colours);
* ``(seed, split, domain, "video", v)`` -- the session: scene, light, camera, base pose
  and expression, the attack's instruments (printer, screen, mask) and the source picture;
* ``(seed, split, domain, "frame", v, f)`` -- per-frame jitter and sensor noise.

so a sample depends only on its key, never on which samples were generated before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from disentangle_fas.synthetic._rng import derive_rng
from disentangle_fas.synthetic.attacks import (
    compose_print,
    compose_replay,
    sample_mask_look,
    sample_placement,
    sample_print,
    sample_screen,
)
from disentangle_fas.synthetic.camera import capture, sample_camera
from disentangle_fas.synthetic.domains import DOMAINS, DomainSpec, spoof_spec
from disentangle_fas.synthetic.face import (
    Expression,
    Framing,
    Pose,
    sample_expression,
    sample_framing,
    sample_identity,
    sample_pose,
)
from disentangle_fas.synthetic.imageops import resize
from disentangle_fas.synthetic.labels import LIVE, MASK, PRINT, REPLAY
from disentangle_fas.synthetic.media import Placement
from disentangle_fas.synthetic.render import HeadRender, Light, render_person, sample_light
from disentangle_fas.synthetic.scene import render_background

__all__ = ["SampleKey", "SampleRender", "render_sample", "world_size"]


@dataclass(frozen=True)
class SampleKey:
    """Everything that determines one sample.

    Attributes:
        seed: user seed.
        split: split name (part of every random key, so splits have disjoint people).
        domain: global domain id (index into :data:`~disentangle_fas.synthetic.DOMAINS`).
        subject: person number within (seed, split, domain).
        video: video number within (seed, split, domain).
        frame: frame number within the video.
        attack: attack id (0 live).
    """

    seed: int
    split: str
    domain: int
    subject: int
    video: int
    frame: int
    attack: int


@dataclass(frozen=True)
class SampleRender:
    """A rendered sample with its ground truth, at the output size ``H = W``.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        position: ``(3, H, W)`` float32 head-frame ``(X, Y, Z)`` mapped into ``(0, 1)``,
            0 off the face.
        depth: ``(1, H, W)`` float32 depth in ``(0, 1]`` (1 nearest), 0 off the face.
        face: ``(H, W)`` bool face (head) region; exactly where the maps are non-zero.
        landmarks: ``(K, 2)`` float32 pixel coordinates ``(x, y)``; pixel ``(i, j)`` spans
            ``[j, j + 1) x [i, i + 1)``.
    """

    image: np.ndarray
    position: np.ndarray
    depth: np.ndarray
    face: np.ndarray
    landmarks: np.ndarray


def world_size(size: int) -> int:
    """Resolution at which scenes are rendered before the camera integrates them.

    Twice the output size (supersampling) up to 80 px outputs; above, at least 160 px and
    1.25 times the output size (cost grows with the square of the world size).

    Args:
        size: output side in pixels.

    Returns:
        The world side in pixels.
    """
    return min(2 * size, max(160, round(1.25 * size)))


@dataclass(frozen=True)
class _Session:
    light: Light
    background: np.ndarray
    clothes: tuple[float, float, float]
    pose: Pose
    expression: Expression
    framing: Framing
    cue: float


def _session(rng: np.random.Generator, spec: DomainSpec, world: int, px: float) -> _Session:
    styles, weights = zip(*spec.backgrounds, strict=True)
    w = np.asarray(weights, dtype=np.float64)
    style = styles[int(rng.choice(len(styles), p=w / w.sum()))]
    light = sample_light(
        rng,
        azimuth=spec.light_azimuth,
        elevation=spec.light_elevation,
        key=spec.light_key,
        ambient=spec.light_ambient,
        kelvin=spec.kelvin,
    )
    bg_rng = np.random.default_rng(int(rng.integers(2**63)))
    background = render_background(
        bg_rng,
        world,
        style,
        spec.palette,
        float(rng.uniform(*spec.scene_brightness)),
        float(rng.uniform(*spec.bg_blur)) * px,
    )
    c = rng.uniform(0.05, 0.8, 3)
    return _Session(
        light=light,
        background=background,
        clothes=(float(c[0]), float(c[1]), float(c[2])),
        pose=sample_pose(rng, spec.pose_spread),
        expression=sample_expression(rng),
        framing=sample_framing(rng, float(rng.uniform(*spec.crop_scale))),
        cue=float(rng.uniform(*spec.cue_strength)),
    )


def _jitter(rng: np.random.Generator, s: _Session) -> tuple[Pose, Expression, Framing]:
    p = s.pose
    pose = Pose(
        p.yaw + float(rng.normal(0.0, 2.0)),
        p.pitch + float(rng.normal(0.0, 1.5)),
        p.roll + float(rng.normal(0.0, 1.0)),
    )
    e, n = s.expression, sample_expression(rng)
    expr = Expression(
        smile=0.8 * e.smile + 0.2 * n.smile,
        mouth_open=0.7 * e.mouth_open + 0.3 * n.mouth_open,
        eye_open=n.eye_open if rng.random() < 0.3 else e.eye_open,
        brow_raise=0.8 * e.brow_raise + 0.2 * n.brow_raise,
        gaze=(0.5 * (e.gaze[0] + n.gaze[0]), 0.5 * (e.gaze[1] + n.gaze[1])),
    )
    f = s.framing
    framing = Framing(
        f.half_span * float(rng.uniform(0.98, 1.02)),
        f.cx + float(rng.normal(0.0, 0.015)),
        f.cy + float(rng.normal(0.0, 0.015)),
    )
    return pose, expr, framing


def _shake(rng: np.random.Generator, p: Placement) -> Placement:
    return replace(
        p,
        angle=p.angle + float(rng.normal(0.0, 0.7)),
        shift=(
            p.shift[0] + float(rng.normal(0.0, 0.006)),
            p.shift[1] + float(rng.normal(0.0, 0.006)),
        ),
    )


def _downsample(
    render_head: np.ndarray, maps: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    cover = resize(render_head, size, size)
    face = cover >= 0.5
    summed = resize(maps * render_head[..., None], size, size)
    values = summed / np.maximum(cover, 1e-6)[..., None]
    values = np.where(face[..., None], np.clip(values, 1e-3, 1.0), 0.0)
    return face, values.astype(np.float32)


def render_sample(key: SampleKey, size: int) -> SampleRender:
    """Render one sample.

    Args:
        key: the sample's identity, session and attack.
        size: output side in pixels.

    Returns:
        The image and its ground truth.

    Raises:
        ValueError: unknown attack id or domain id.
    """
    if key.attack not in (LIVE, PRINT, REPLAY, MASK):
        raise ValueError(f"unknown attack id {key.attack}; expected 0 (live) to 3 (mask)")
    if not 0 <= key.domain < len(DOMAINS):
        raise ValueError(f"unknown domain id {key.domain}; expected 0..{len(DOMAINS) - 1}")
    spec = DOMAINS[key.domain] if key.attack == LIVE else spoof_spec(DOMAINS[key.domain])
    world = world_size(size)
    px = world / size
    base = (key.seed, key.split, spec.code)
    person = sample_identity(derive_rng(*base, "subject", key.subject))
    rv = derive_rng(*base, "video", key.video)
    rf = derive_rng(*base, "frame", key.video, key.frame)
    camera = sample_camera(rv, spec)
    scene = _session(rv, spec, world, px)
    if key.attack in (LIVE, MASK):
        pose, expr, framing = _jitter(rf, scene)
        mask = None
        if key.attack == MASK:
            mask = sample_mask_look(rv, person, sample_identity(rv), spec.mask_print, scene.cue)
        out: HeadRender = render_person(
            person, expr, pose, framing, scene.light, scene.background, scene.clothes, mask
        )
        radiance, head, position, depth, lms = (
            out.rgb,
            out.head,
            out.position,
            out.depth,
            out.landmarks,
        )
    else:
        source = _session(rv, spec, world, px)  # where and how the victim was filmed
        placement = sample_placement(rv, 0.25 if key.attack == PRINT else 0.2)
        if key.attack == PRINT:
            printer = sample_print(rv, scene.cue, float(rv.uniform(*spec.print_quality)))
            photo = render_person(
                person,
                source.expression,
                source.pose,
                source.framing,
                source.light,
                source.background,
                source.clothes,
            )
            rec = compose_print(
                photo, scene.background, scene.light, printer, _shake(rf, placement), px, rf
            )
        else:
            screen = sample_screen(rv, scene.cue, float(rv.uniform(*spec.screen_quality)))
            quality = int(rv.integers(50, 90))
            pose, expr, framing = _jitter(rf, source)
            frame = render_person(
                person, expr, pose, framing, source.light, source.background, source.clothes
            )
            rec = compose_replay(
                frame, scene.background, scene.light, screen, _shake(rf, placement), px, quality
            )
        radiance, head, position, depth, lms = (
            rec.radiance,
            rec.head,
            rec.position,
            rec.depth,
            rec.landmarks,
        )
    image = capture(radiance, camera, size, rf, scene.light.colour)
    maps = np.concatenate([position, depth[..., None]], axis=-1)
    face, values = _downsample(head, maps, size)
    return SampleRender(
        image=np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8),
        position=np.ascontiguousarray(values[..., :3].transpose(2, 0, 1)),
        depth=np.ascontiguousarray(values[..., 3:].transpose(2, 0, 1)),
        face=face,
        landmarks=(lms / px).astype(np.float32),
    )
