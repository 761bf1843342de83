"""Landmark heatmaps against a hand-written numpy reference, plus properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.targets import LandmarkHeatmapTarget, landmark_heatmaps


def _reference(
    pts: np.ndarray, image_size: tuple[int, int], out: tuple[int, int], sigma: float
) -> np.ndarray:
    b, k, _ = pts.shape
    res = np.zeros((b, k, *out))
    for n in range(b):
        for j in range(k):
            x, y = pts[n, j]
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            cx = (x + 0.5) * out[1] / image_size[1] - 0.5
            cy = (y + 0.5) * out[0] / image_size[0] - 0.5
            for r in range(out[0]):
                for c in range(out[1]):
                    d2 = (c - cx) ** 2 + (r - cy) ** 2
                    res[n, j, r, c] = math.exp(-d2 / (2 * sigma * sigma))
    return res


def test_matches_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(-2, 40, size=(2, 5, 2))
    pts[1, 3] = np.nan  # an undetected point
    got = landmark_heatmaps(torch.from_numpy(pts), (32, 40), (12, 10), sigma=1.3)
    ref = _reference(pts, (32, 40), (12, 10), 1.3)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-6)
    assert float(got[1, 3].abs().max()) == 0.0
    merged = landmark_heatmaps(torch.from_numpy(pts), (32, 40), (12, 10), 1.3, merge=True)
    np.testing.assert_allclose(merged[:, 0].numpy(), ref.max(axis=1), atol=1e-6)


@given(
    x=st.integers(0, 15),
    y=st.integers(0, 11),
    sigma=st.floats(0.3, 4.0),
)
def test_peak_at_landmark(x: int, y: int, sigma: float) -> None:
    h = landmark_heatmaps(torch.tensor([[[float(x), float(y)]]]), (12, 16), sigma=sigma)
    assert h.shape == (1, 1, 12, 16)
    assert float(h.max()) == pytest.approx(1.0)
    assert float(h.min()) >= 0.0
    flat = int(h.flatten().argmax())
    assert divmod(flat, 16) == (y, x)


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        landmark_heatmaps(torch.zeros(2, 5), (8, 8))
    with pytest.raises(ValueError, match="sigma"):
        landmark_heatmaps(torch.zeros(1, 5, 2), (8, 8), sigma=0.0)
    with pytest.raises(ValueError, match="image_size"):
        landmark_heatmaps(torch.zeros(1, 5, 2), (0, 8))


def test_provider_with_table_and_callable() -> None:
    rng = np.random.default_rng(1)
    table = rng.uniform(0, 63, size=(4, 5, 2)).astype(np.float32)
    images = torch.rand(3, 3, 64, 64)
    idx = torch.tensor([3, 1, 3])
    for source in (table, torch.from_numpy(table), lambda i: table[i]):
        t = LandmarkHeatmapTarget(source, output_size=16, sigma=1.0)  # type: ignore[arg-type]
        out = t(images, idx)
        assert out.shape == (3, 5, 16, 16) == (3, *t.output_shape((64, 64)))
        ref = _reference(table[[3, 1, 3]].astype(np.float64), (64, 64), (16, 16), 1.0)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def test_provider_coordinate_size_and_merge() -> None:
    # landmarks given in 128x128 coordinates, images at 32x32, heatmaps at 8x8
    pts = torch.tensor([[[63.5, 31.5]]])
    t = LandmarkHeatmapTarget(pts, coordinate_size=(128, 128), output_size=(8, 8), merge=True)
    out = t(torch.zeros(1, 3, 32, 32), torch.tensor([0]))
    assert out.shape == (1, 1, 8, 8) == (1, *t.output_shape((32, 32)))
    ref = _reference(pts.double().numpy(), (128, 128), (8, 8), 1.5)
    np.testing.assert_allclose(out[:, 0].numpy(), ref[:, 0], atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        t(torch.zeros(1, 3, 32, 32), torch.tensor([1]))
