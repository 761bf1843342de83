"""SA-FAS parts: heads, per-domain loss, alignment and views, against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from disentangle_fas.safas import (
    CenterCrop,
    DomainLogisticHeads,
    align_heads,
    align_heads_,
    center_crop_resize,
    per_domain_bce,
    random_views,
)


def _numpy_align(w: np.ndarray, alpha: float) -> np.ndarray:
    """The official update_weight_v4, written with loops (generalised to S heads)."""
    b = [row / (np.linalg.norm(row) + 1e-10) for row in w]
    out = np.empty_like(w)
    for i in range(len(b)):
        cands = [(float(b[i] @ b[j]), j) for j in range(len(b)) if j != i]
        j = min(cands)[1]
        m = alpha * b[i] + (1 - alpha) * b[j]
        out[i] = m / (np.linalg.norm(m) + 1e-10) * np.linalg.norm(w[i])
    return out


@settings(max_examples=25, deadline=None)
@given(
    s=st.integers(2, 5), d=st.integers(2, 8), alpha=st.floats(0.0, 1.0), seed=st.integers(0, 2**16)
)
def test_alignment_matches_numpy_and_preserves_norms(
    s: int, d: int, alpha: float, seed: int
) -> None:
    w = torch.randn(s, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    res = align_heads(w, alpha)
    np.testing.assert_allclose(
        res.weight.numpy(), _numpy_align(w.numpy(), alpha), rtol=1e-9, atol=1e-12
    )
    torch.testing.assert_close(res.weight.norm(dim=1), w.norm(dim=1))
    b = torch.nn.functional.normalize(w, dim=1)
    cos = b @ b.T
    assert res.mean_cosine == pytest.approx(float(cos[torch.triu_indices(s, s, 1).unbind()].mean()))


def test_alignment_raises_head_cosines_and_matches_the_official_three_head_code() -> None:
    torch.manual_seed(0)
    w = torch.randn(3, 16)
    # The official code, restated from networks/resnet_lgt.py::update_weight_v4.
    norm = lambda x: x / (torch.norm(x, dim=-1, keepdim=True) + 1e-10)  # noqa: E731
    b0, b1, b2 = norm(w[0]), norm(w[1]), norm(w[2])
    f0 = min(
        [((b0 * b1).sum().item(), 0, b1), ((b0 * b2).sum().item(), 1, b2)], key=lambda t: t[:2]
    )[2]
    f1 = min(
        [((b1 * b0).sum().item(), 0, b0), ((b1 * b2).sum().item(), 1, b2)], key=lambda t: t[:2]
    )[2]
    f2 = min(
        [((b2 * b0).sum().item(), 0, b0), ((b2 * b1).sum().item(), 1, b1)], key=lambda t: t[:2]
    )[2]
    a = 0.995
    ref = torch.stack([norm(a * b0 + (1 - a) * f0) * w[0].norm(), norm(a * b1 + (1 - a) * f1) * w[1].norm(),
                       norm(a * b2 + (1 - a) * f2) * w[2].norm()])  # fmt: skip
    torch.testing.assert_close(align_heads(w, a).weight, ref)
    heads = DomainLogisticHeads(16, 3)
    with torch.no_grad():
        heads.weight.copy_(w)
    before = align_heads_(heads, 0.9)
    after = align_heads(heads.weight, 1.0).mean_cosine  # alpha 1: measure only
    assert after > before
    torch.testing.assert_close(align_heads(w, 1.0).weight, w)


def test_alignment_errors() -> None:
    with pytest.raises(ValueError, match="S >= 2"):
        align_heads(torch.randn(1, 4), 0.5)
    with pytest.raises(ValueError, match="alpha"):
        align_heads(torch.randn(2, 4), 1.5)


def test_heads_and_their_score() -> None:
    torch.manual_seed(1)
    heads = DomainLogisticHeads(5, 3, scale=2.0)
    f = torch.randn(4, 5)
    z = heads(f)
    torch.testing.assert_close(z, 2.0 * (f @ heads.weight.T + heads.bias))
    torch.testing.assert_close(heads.live_score(f), torch.sigmoid(z).mean(1))
    bound = 1 / math.sqrt(5)
    assert float(heads.bias.detach().abs().max()) <= bound
    for bad in ({"num_domains": 1}, {"in_features": 0}, {"scale": 0.0}):
        with pytest.raises(ValueError):
            DomainLogisticHeads(**{"in_features": 5, "num_domains": 3, **bad})  # type: ignore[arg-type]


def test_per_domain_bce_matches_the_official_loop() -> None:
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    y = torch.tensor([1, 0, 1, 0, 1, 0, 1])
    d = torch.tensor([0, 0, 1, 1, 1, 0, 0])  # domain 2 absent: it contributes 0, as there
    bce = torch.nn.BCELoss()
    total = torch.zeros((), dtype=torch.float64)
    for s in range(3):
        idx = d == s
        if idx.any():
            total = total + bce(torch.sigmoid(z[idx, s]), y[idx].double())
    torch.testing.assert_close(per_domain_bce(z, y, d), total / 3)
    with pytest.raises(ValueError, match="domains"):
        per_domain_bce(z, y, torch.tensor([0, 0, 1, 1, 3, 0, 0]))
    with pytest.raises(ValueError, match="empty batch"):
        per_domain_bce(
            torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
        )


def test_random_views_shapes_determinism_and_identity() -> None:
    x = torch.rand(3, 3, 16, 16)
    v1 = random_views(x, 2, generator=torch.Generator().manual_seed(0))
    v2 = random_views(x, 2, generator=torch.Generator().manual_seed(0))
    assert v1.shape == (6, 3, 16, 16)
    torch.testing.assert_close(v1, v2)
    assert not torch.allclose(v1[:3], v1[3:])  # the two views differ
    same = random_views(x, 1, rotation_degrees=0.0, crop_scale_min=1.0, hflip=False)
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)


def test_random_views_flip_and_rotation() -> None:
    x = torch.rand(2, 3, 8, 8)
    gen = torch.Generator().manual_seed(5)
    views = random_views(x, 8, rotation_degrees=0.0, crop_scale_min=1.0, hflip=True, generator=gen)
    tiled = x.repeat(8, 1, 1, 1)
    flipped = [
        bool(torch.allclose(v, t.flip(-1), atol=1e-5)) for v, t in zip(views, tiled, strict=True)
    ]
    kept = [bool(torch.allclose(v, t, atol=1e-5)) for v, t in zip(views, tiled, strict=True)]
    assert all(a or b for a, b in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)
    # A rotation leaves black corners (zero padding, as torchvision's RandomRotation).
    rot = random_views(torch.ones(4, 3, 16, 16), 1, rotation_degrees=180.0, crop_scale_min=1.0,
                       generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert float(rot[:, :, 0, 0].min()) < 0.5
    with pytest.raises(ValueError):
        random_views(x, 0)
    with pytest.raises(ValueError):
        random_views(x, crop_scale_min=0.0)


def test_center_crop_is_deterministic_and_crops_the_centre() -> None:
    x = torch.arange(100.0).view(1, 1, 10, 10)
    out = center_crop_resize(x, 0.64)  # an 8x8 centred crop, resized back to 10x10
    ref = torch.nn.functional.interpolate(x[:, :, 1:9, 1:9], size=(10, 10), mode="bilinear")
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(center_crop_resize(x, 0.64), out)
    assert center_crop_resize(x, 1.0) is x
    assert "area=0.9" in repr(CenterCrop(0.9))
    with pytest.raises(ValueError):
        CenterCrop(0.0)
