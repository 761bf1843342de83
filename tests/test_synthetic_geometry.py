"""The ground-truth geometry matches the rendered face."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle_fas.synthetic import LANDMARK_NAMES, SampleKey, SyntheticFAS, render_sample
from disentangle_fas.synthetic.face import (
    Framing,
    Pose,
    landmarks_head,
    neutral_expression,
    sample_expression,
    sample_identity,
    sample_pose,
)
from disentangle_fas.synthetic.geometry import front_height, head_shape
from disentangle_fas.synthetic.render import POSITION_RANGE, Light, render_person

FRONTAL = Light(direction=(0.0, 0.3, 0.954), colour=(1.0, 1.0, 1.0), key=0.7, ambient=0.35)
EYE, NOSE, MOUTH_L, MOUTH_R = 0, 2, 3, 4


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.2126, 0.7152, 0.0722])


def patch(img: np.ndarray, xy: np.ndarray, r: int = 1) -> float:
    x, y = int(xy[0]), int(xy[1])
    return float(img[max(y - r, 0) : y + r + 1, max(x - r, 0) : x + r + 1].mean())


def cheeks(lms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points on the cheeks: between eye and mouth corner, pushed outwards."""
    d = lms[1] - lms[0]
    left = lms[0] + 0.55 * (lms[3] - lms[0]) - 0.22 * d
    right = lms[1] + 0.55 * (lms[4] - lms[1]) + 0.22 * d
    return left, right


def render_live(seed: int, size: int = 128) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(seed)
    idn = sample_identity(rng)
    pose = sample_pose(rng, 0.7)
    bg = np.full((size, size, 3), 0.2, dtype=np.float32)
    out = render_person(idn, sample_expression(rng), pose, Framing(), FRONTAL, bg, (0.3, 0.3, 0.3))
    return out, bg


def test_eye_landmarks_are_darker_than_the_cheeks_in_renders() -> None:
    for seed in range(16):
        out, _ = render_live(seed)
        lum = luminance(out.rgb)  # type: ignore[attr-defined]
        lms = out.landmarks  # type: ignore[attr-defined]
        c1, c2 = cheeks(lms)
        assert patch(lum, lms[0]) < patch(lum, c1, 2), seed
        assert patch(lum, lms[1]) < patch(lum, c2, 2), seed


def test_eye_landmarks_are_darker_than_the_cheeks_in_the_dataset() -> None:
    ds = SyntheticFAS("O", samples_per_domain=40, image_size=64, live_fraction=1.0, seed=2)
    darker = []
    for i in range(len(ds)):
        r = ds.render(i)
        lum = luminance(r.image.astype(np.float64))
        c1, c2 = cheeks(r.landmarks)
        eyes = patch(lum, r.landmarks[0]) + patch(lum, r.landmarks[1])
        darker.append(eyes < patch(lum, c1) + patch(lum, c2))
    assert np.mean(darker) >= 0.75


def test_head_mask_is_the_foreground_and_the_maps_support() -> None:
    for seed in range(4):
        out, bg = render_live(seed)
        rng = np.random.default_rng(seed)
        noise = np.asarray(rng.random(bg.shape), dtype=np.float32)
        again = render_person(*_same_person(seed), noise, _clothes())  # type: ignore[arg-type]
        head = out.head > 0.5  # type: ignore[attr-defined]
        assert head.mean() > 0.2
        # Head pixels do not depend on the background; a changed pixel is never the head.
        assert np.array_equal(out.rgb[head], again.rgb[head])  # type: ignore[attr-defined]
        changed = np.any(out.rgb != again.rgb, axis=-1)  # type: ignore[attr-defined]
        assert not np.any(changed & head)
        # The dense maps are non-zero exactly on the head.
        assert np.array_equal(np.any(out.position > 0, axis=-1), head)  # type: ignore[attr-defined]
        assert np.array_equal(out.depth > 0, head)  # type: ignore[attr-defined]


def _same_person(seed: int) -> tuple[object, ...]:
    rng = np.random.default_rng(seed)
    idn = sample_identity(rng)
    pose = sample_pose(rng, 0.7)
    return (idn, sample_expression(rng), pose, Framing(), FRONTAL)


def _clothes() -> tuple[float, float, float]:
    return (0.3, 0.3, 0.3)


def test_position_map_at_landmarks_matches_their_head_coordinates() -> None:
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        idn = sample_identity(rng)
        expr = neutral_expression()
        pose = Pose(yaw=float(rng.uniform(-12, 12)), pitch=float(rng.uniform(-8, 8)), roll=0.0)
        bg = np.zeros((160, 160, 3), dtype=np.float32)
        out = render_person(idn, expr, pose, Framing(), FRONTAL, bg, (0.3, 0.3, 0.3))
        xy = landmarks_head(idn, expr)
        for k in (EYE, 1, NOSE, MOUTH_L, MOUTH_R):
            x, y = out.landmarks[k]
            got = out.position[int(y), int(x)] * 2 * POSITION_RANGE - POSITION_RANGE
            # One world pixel is about 0.016 head units; allow a few.
            np.testing.assert_allclose(got[:2], xy[k], atol=0.05, err_msg=LANDMARK_NAMES[k])
            z = front_height(head_shape(idn, expr), xy[k : k + 1, 0], xy[k : k + 1, 1])[0]
            assert abs(got[2] - z) < 0.08, LANDMARK_NAMES[k]


def test_depth_and_position_are_ordered_like_a_face() -> None:
    for seed in range(6):
        rng = np.random.default_rng(200 + seed)
        idn = sample_identity(rng)
        bg = np.zeros((128, 128, 3), dtype=np.float32)
        pose = Pose(yaw=float(rng.uniform(-10, 10)))
        out = render_person(idn, neutral_expression(), pose, Framing(), FRONTAL, bg, (0, 0, 0))
        lm = out.landmarks
        nose = patch(out.depth, lm[NOSE], 0)
        assert nose > patch(out.depth, lm[0], 0) and nose > patch(out.depth, lm[1], 0)
        head = out.head > 0.5
        cols = np.broadcast_to(np.arange(128)[None, :], head.shape)[head]
        rows = np.broadcast_to(np.arange(128)[:, None], head.shape)[head]
        assert np.corrcoef(cols, out.position[..., 0][head])[0, 1] > 0.9  # X grows rightwards
        assert np.corrcoef(rows, out.position[..., 1][head])[0, 1] < -0.9  # Y grows upwards


@pytest.mark.parametrize("attack", [1, 2, 3])
def test_spoofs_keep_the_face_geometry(attack: int) -> None:
    for video in range(4):
        r = render_sample(SampleKey(4, "train", 4, video, video, 0, attack), 64)
        assert r.face.mean() > 0.15
        for k in (EYE, 1, NOSE):
            x, y = r.landmarks[k]
            assert r.face[int(y), int(x)], (attack, video, LANDMARK_NAMES[k])
        # The nose tip lies on the face's mid-line (head-frame X = 0 -> 0.5 in the map).
        x, y = r.landmarks[NOSE]
        assert abs(r.position[0, int(y), int(x)] - 0.5) < 0.06
