"""Design properties of the synthetic benchmark: version, capture biases, printed masks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from disentangle_fas.synthetic import (
    DOMAINS,
    GENERATOR_VERSION,
    SyntheticFAS,
    export_synthetic,
    read_generator_version,
)
from disentangle_fas.synthetic._rng import derive_rng
from disentangle_fas.synthetic.attacks import sample_mask_look
from disentangle_fas.synthetic.domains import (
    BIAS_EXPOSURE,
    BIAS_JPEG,
    BIAS_WARMTH,
    DOMAIN_CODES,
    spoof_spec,
)
from disentangle_fas.synthetic.face import Framing, Pose, sample_expression, sample_identity
from disentangle_fas.synthetic.render import HeadRender, Light, render_person
from disentangle_fas.synthetic.texture import MaskLook, PrintedFinish

LOO = ("O", "C", "I", "M")


def _spec(code: str):  # type: ignore[no-untyped-def]
    return DOMAINS[DOMAIN_CODES.index(code)]


def test_version_is_carried_and_exported(tmp_path: Path) -> None:
    assert isinstance(GENERATOR_VERSION, int) and GENERATOR_VERSION >= 2
    ds = SyntheticFAS(["M"], samples_per_domain=2, image_size=32, seed=3, split="dev")
    assert ds.generator_version == GENERATOR_VERSION
    manifest = export_synthetic(ds, tmp_path)
    info = json.loads((tmp_path / "generator.json").read_text())
    assert info == {
        "generator_version": GENERATOR_VERSION,
        "seed": 3,
        "split": "dev",
        "image_size": 32,
        "domains": ["M"],
    }
    assert read_generator_version(tmp_path) == GENERATOR_VERSION
    assert read_generator_version(manifest) == GENERATOR_VERSION


def test_read_generator_version_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"generator\.json"):
        read_generator_version(tmp_path)
    (tmp_path / "generator.json").write_text('{"generator_version": "2"}')
    with pytest.raises(ValueError, match="must be an integer"):
        read_generator_version(tmp_path)


def test_capture_biases_oppose_every_held_out_domain() -> None:
    signs = np.array([_spec(c).spoof_bias for c in LOO])  # (4 domains, 3 directions)
    assert np.all(np.abs(signs) > 0)
    for t in range(len(LOO)):
        others = np.delete(signs, t, axis=0).sum(0)
        # By majority, the three source domains teach the opposite of the target's bias.
        assert np.all(np.sign(others) == -np.sign(signs[t])), (LOO[t], others)
    assert _spec("Cb").spoof_bias == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("code", LOO)
def test_spoof_spec_moves_the_camera_by_the_bias(code: str) -> None:
    live = _spec(code)
    base = replace(live, spoof_bias=(0.0, 0.0, 0.0))
    e, w, k = live.spoof_bias
    plain, spoof = spoof_spec(base), spoof_spec(live)
    np.testing.assert_allclose(
        spoof.exposure, np.array(plain.exposure) * (1 + BIAS_EXPOSURE * e), rtol=1e-12
    )
    np.testing.assert_allclose(spoof.tint[0], np.array(plain.tint[0]) * (1 + BIAS_WARMTH * w))
    np.testing.assert_allclose(spoof.tint[2], np.array(plain.tint[2]) * (1 - BIAS_WARMTH * w))
    assert spoof.tint[1] == plain.tint[1]
    expected_jpeg = np.clip(np.array(plain.jpeg) + BIAS_JPEG * k, 30, 98)
    np.testing.assert_allclose(spoof.jpeg, expected_jpeg)
    assert (spoof.blur[0] < plain.blur[0]) == (k > 0)


def test_spoofs_of_a_domain_are_brighter_or_darker_as_biased() -> None:
    """Mean image brightness of spoofs vs lives follows the exposure bias (O up, C down)."""
    means = {}
    for code in ("O", "C"):
        ds = SyntheticFAS([code], samples_per_domain=24, image_size=32, seed=1)
        img = np.stack([ds.render(i).image for i in range(len(ds))]).astype(np.float64)
        centre = img[:, 8:24, 8:24].mean((1, 2, 3))
        means[code] = centre[ds.labels == 0].mean() - centre[ds.labels == 1].mean()
    assert means["O"] > 0 > means["C"], means


def test_mask_print_probability() -> None:
    victim = sample_identity(derive_rng(0, "victim"))
    wearer = sample_identity(derive_rng(0, "wearer"))
    looks = [sample_mask_look(derive_rng(1, "m", i), victim, wearer, 0.3) for i in range(400)]
    printed = np.array([m.printed is not None for m in looks])
    assert all(m.printed is None or (m.printed.dots > 0 and m.printed.layers > 0) for m in looks)
    # Binomial(400, 0.3): mean 120, sd 9.2; 5 sd either side.
    assert 74 < printed.sum() < 166
    never = sample_mask_look(derive_rng(2), victim, wearer, 0.0)
    always = sample_mask_look(derive_rng(2), victim, wearer, 1.0, cue=0.5)
    assert never.printed is None and always.printed is not None
    assert 0.5 * 0.45 <= always.printed.dots <= 0.5 * 0.85


def _laplacian_energy(rgb: np.ndarray, where: np.ndarray) -> float:
    g = rgb.mean(-1)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    return float(np.abs(lap)[where[1:-1, 1:-1]].mean())


VICTIM = sample_identity(derive_rng(0, "victim"))
WEARER = sample_identity(derive_rng(0, "wearer"))


def _render_masks(direction: tuple[float, float, float], *looks: MaskLook) -> list[HeadRender]:
    """The victim's face under one light, once per mask look."""
    light = Light(direction=direction, colour=(1.0, 1.0, 1.0), key=0.7, ambient=0.3)
    background = np.full((128, 128, 3), 0.3, dtype=np.float32)
    args = (sample_expression(derive_rng(6)), Pose(0.0, 0.0, 0.0), Framing())
    return [render_person(VICTIM, *args, light, background, (0.3,) * 3, m) for m in looks]


def test_printed_mask_surface_has_fine_texture() -> None:
    painted = sample_mask_look(derive_rng(5), VICTIM, WEARER, 0.0)
    finish = PrintedFinish(
        dots=0.35, dot_period=0.06, dot_angle=30.0, layers=0.15, layer_period=0.04, gamut=0.0
    )
    printed = replace(painted, printed=finish)
    a, b = _render_masks((0.0, 0.3, 0.954), painted, printed)
    face = a.head > 0.5
    assert np.array_equal(face, b.head > 0.5)  # same geometry
    assert _laplacian_energy(b.rgb, face) > 1.5 * _laplacian_energy(a.rgb, face)


def test_shallow_masks_are_shaded_flatter() -> None:
    reliefs = [sample_mask_look(derive_rng(3, i), VICTIM, WEARER).relief for i in range(200)]
    assert min(reliefs) >= 0.3 and max(reliefs) <= 0.9
    faithful = replace(sample_mask_look(derive_rng(5), VICTIM, WEARER, 0.0), relief=1.0)
    a, b = _render_masks((0.6, 0.2, 0.77), faithful, replace(faithful, relief=0.3))
    face = a.head > 0.5
    assert np.array_equal(face, b.head > 0.5)  # same silhouette and ground-truth geometry
    assert np.array_equal(a.depth, b.depth)
    # Side light on a shallower cast: less spread of brightness across the face, relative
    # to its mean (fewer surfaces turned away from the light).
    spread = [float(r.rgb.mean(-1)[face].std() / r.rgb.mean(-1)[face].mean()) for r in (a, b)]
    assert spread[1] < 0.85 * spread[0], spread


def test_cb_spoofs_are_noisier_dimmer_captures_without_a_sharpness_bias() -> None:
    live, spoof = _spec("Cb"), spoof_spec(_spec("Cb"))
    assert spoof.read_noise[0] > live.read_noise[0]  # noisier
    assert spoof.scene_brightness[1] < live.scene_brightness[1]  # dimmer scenes
    # Neither sharper nor softer than the live pictures: the four source domains split two
    # against two on sharpness, so a sharpness cue would favour some ->Cb tasks.
    for name in ("sensor_scale", "blur", "jpeg", "denoise", "sharpen"):
        assert getattr(spoof, name) == getattr(live, name), name
    # The spoof ranges stay inside the live ones: overlapping, not separable by one value.
    for name in ("read_noise", "scene_brightness"):
        lo, hi = getattr(spoof, name)
        assert getattr(live, name)[0] <= lo < hi <= getattr(live, name)[1], name


def test_printed_mask_tones_are_compressed() -> None:
    victim = sample_identity(derive_rng(0, "victim"))
    wearer = sample_identity(derive_rng(0, "wearer"))
    painted = sample_mask_look(derive_rng(8), victim, wearer, 0.0)
    printed = sample_mask_look(derive_rng(8), victim, wearer, 1.0)
    assert painted.printed is None and printed.printed is not None
    assert 0.5 <= printed.printed.gamut <= 1.0
    assert 0.0 <= painted.wrap <= 0.4 and painted.wrap == printed.wrap
