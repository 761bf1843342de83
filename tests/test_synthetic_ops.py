"""Image operations of the synthetic renderer against independent references."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import ndimage

from disentangle_fas.synthetic.imageops import (
    gaussian_blur,
    jpeg_roundtrip,
    resize,
    sample_bilinear,
    smoothstep,
)
from disentangle_fas.synthetic.media import Placement, place_medium, warp_points


@given(sigma=st.floats(0.5, 3.0), seed=st.integers(0, 1000))
def test_gaussian_blur_matches_scipy(sigma: float, seed: int) -> None:
    img = np.random.default_rng(seed).random((24, 20, 3)).astype(np.float32)
    ours = gaussian_blur(img, sigma)
    radius = int(np.ceil(3 * sigma))
    ref = ndimage.gaussian_filter(
        img.astype(np.float64), sigma=(sigma, sigma, 0), mode="mirror", truncate=radius / sigma
    )
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_resize_box_is_block_mean_and_upsampling_keeps_constants() -> None:
    img = np.random.default_rng(0).random((16, 12)).astype(np.float32)
    ref = img.reshape(8, 2, 6, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(resize(img, 8, 6), ref, atol=1e-6)
    const = np.full((5, 5, 3), 0.25, dtype=np.float32)
    np.testing.assert_allclose(resize(const, 13, 11), 0.25, atol=1e-6)


def test_sample_bilinear_matches_a_hand_loop() -> None:
    rng = np.random.default_rng(1)
    img = rng.random((7, 9)).astype(np.float32)
    xs, ys = rng.uniform(0.5, 8.5, 50), rng.uniform(0.5, 6.5, 50)
    ours = sample_bilinear(img, xs, ys)
    for k in range(50):
        x, y = xs[k] - 0.5, ys[k] - 0.5
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        x1, y1 = min(x0 + 1, 8), min(y0 + 1, 6)
        fx, fy = x - x0, y - y0
        ref = (
            img[y0, x0] * (1 - fx) * (1 - fy)
            + img[y0, x1] * fx * (1 - fy)
            + img[y1, x0] * (1 - fx) * fy
            + img[y1, x1] * fx * fy
        )
        assert abs(ours[k] - ref) < 1e-5


def test_smoothstep_endpoints_and_reversal() -> None:
    x = np.linspace(-1, 2, 31)
    s = smoothstep(0.0, 1.0, x)
    assert s[x <= 0].max() == 0 and s[x >= 1].min() == 1 and np.all(np.diff(s) >= 0)
    np.testing.assert_allclose(smoothstep(1.0, 0.0, x), 1 - s, atol=1e-6)
    assert np.all(np.isfinite(smoothstep(0.5, 0.5, x)))


def test_jpeg_quality_orders_the_error() -> None:
    img = np.random.default_rng(2).random((32, 32, 3)).astype(np.float32)
    errors = [np.abs(jpeg_roundtrip(img, q) - img).mean() for q in (20, 60, 95)]
    assert errors[0] > errors[1] > errors[2]


def test_placement_inverse_maps_points_back() -> None:
    p = Placement(0.9, 7.0, (0.03, -0.02), (0.1, -0.05), (0.05, 0.0, 0.95, 1.0))
    size = 64
    cx, cy, inside, _ = place_medium(p, size)
    # The pixel where a content point lands looks back at that content point.
    pts = np.array([[20.0, 30.0], [40.0, 12.0], [33.0, 50.0]])
    for (x, y), (u, v) in zip(pts, warp_points(p, pts, size), strict=True):
        j, i = int(u), int(v)
        assert abs(cx[i, j] - x) < 1.5 and abs(cy[i, j] - y) < 1.5
    assert 0.5 < inside.mean() < 1.0
