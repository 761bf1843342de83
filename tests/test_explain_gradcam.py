from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from _method_fixtures import tiny_paper_model
from disentangle_fas.explain import (
    liveness_gradcam,
    overlay_heatmap,
    resolve_target_layer,
    save_gradcam_grid,
)
from disentangle_fas.model import DisentangledFAS
from disentangle_fas.ssdg import SSDGR, SSDGConfig


def _model(variant: str = "full", size: int = 64) -> DisentangledFAS:
    return tiny_paper_model(variant, size=size, content_shape=(1, 16, 16)).eval()


@pytest.fixture(scope="module")
def model() -> DisentangledFAS:
    return _model()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def test_liveness_logits_is_scaled_cosine(model: DisentangledFAS, images: torch.Tensor) -> None:
    wrapper = model.liveness_path()
    logits = wrapper(images)
    feats = model(images).liveness
    pooled = F.normalize(feats.mean(dim=(2, 3)), dim=1)
    w = F.normalize(model.liveness_head.weight, dim=1)
    torch.testing.assert_close(logits, model.liveness_head.scale * pooled @ w.T)
    torch.testing.assert_close(torch.softmax(logits, 1)[:, 1], model.live_score(images))


@pytest.mark.parametrize(
    ("target", "layer"),
    [
        ("predicted", None),
        ("live", None),
        ("spoof", None),
        (1, None),
        ("tensor", None),
        ("predicted", "layer3"),
        ("tensor", "layer3"),
    ],
)
def test_map_shape_range_and_targets(
    model: DisentangledFAS, images: torch.Tensor, target: object, layer: str | None
) -> None:
    t = torch.tensor([1, 0, 1]) if target == "tensor" else target
    res = liveness_gradcam(model, images, target=t, target_layer=layer)  # type: ignore[arg-type]
    assert res.maps.shape == (3, 64, 64)
    assert res.maps.dtype == torch.float32
    assert float(res.maps.min()) >= 0.0 and float(res.maps.max()) <= 1.0
    assert res.layer_size == ((2, 2) if layer is None else (4, 4))
    torch.testing.assert_close(res.scores, model.live_score(images))
    expected = {
        "predicted": model.liveness_path()(images).argmax(1),
        "live": torch.ones(3, dtype=torch.long),
        "spoof": torch.zeros(3, dtype=torch.long),
        1: torch.ones(3, dtype=torch.long),
        "tensor": torch.tensor([1, 0, 1]),
    }[target]  # type: ignore[index]
    assert torch.equal(res.targets, expected)


def _reference_gradcam(model: DisentangledFAS, images: torch.Tensor, cls: int) -> torch.Tensor:
    """Grad-CAM written out by hand: ReLU(sum_c mean(dy/dA_c) A_c), min-max, upsample."""
    enc = model.encoders.liveness
    x = model.normalize(images)
    trunk = enc.layer3(enc.layer2(enc.layer1(enc.stem(x))))
    acts = enc.layer4(trunk).detach().requires_grad_(True)
    logits = model.liveness_head.logits(acts)
    (grads,) = torch.autograd.grad(logits[:, cls].sum(), acts)
    cam = F.relu((grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1)).detach()
    lo = cam.amin(dim=(1, 2), keepdim=True)
    cam = cam - lo
    cam = cam / (1e-7 + cam.amax(dim=(1, 2), keepdim=True))
    up = F.interpolate(cam[:, None], size=images.shape[-2:], mode="bilinear", align_corners=False)
    up = up[:, 0] - up[:, 0].amin(dim=(1, 2), keepdim=True)
    return up / (1e-7 + up.amax(dim=(1, 2), keepdim=True))


@pytest.mark.parametrize("cls", [0, 1])
def test_matches_hand_written_gradcam(
    model: DisentangledFAS, images: torch.Tensor, cls: int
) -> None:
    res = liveness_gradcam(model, images, target=cls)
    ref = _reference_gradcam(model, images, cls)
    torch.testing.assert_close(res.maps, ref, atol=1e-4, rtol=0)


def test_model_state_untouched(images: torch.Tensor) -> None:
    model = _model()
    model.train()
    marker = {n: torch.full_like(p, 0.25) for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.grad = marker[n].clone()
    model.encoders.liveness.layer1.requires_grad_(False)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    liveness_gradcam(model, images)
    assert all(m.training for m in model.modules())
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n])
        assert p.grad is not None and torch.equal(p.grad, marker[n])
        assert p.requires_grad == (not n.startswith("encoders.liveness.layer1."))


def test_works_under_no_grad_and_on_baseline(images: torch.Tensor) -> None:
    base = _model("baseline")
    with torch.no_grad():
        res = liveness_gradcam(base, images, target="live")
    assert res.maps.shape == (3, 64, 64)
    assert float(res.maps.max()) > 0.5  # a real map, not an all-zero fallback


def test_resolve_target_layer(model: DisentangledFAS) -> None:
    enc = model.encoders.liveness
    assert resolve_target_layer(enc) is enc.layer4[-1]
    assert resolve_target_layer(enc, "layer3.0") is enc.layer3[0]
    assert resolve_target_layer(enc, enc.layer2) is enc.layer2
    with pytest.raises(ValueError, match="no layer"):
        resolve_target_layer(enc, "layer9")
    other = model.encoders.domain
    assert other is not None
    with pytest.raises(ValueError, match="module of the liveness encoder"):
        resolve_target_layer(enc, other.layer4)


def test_input_errors(model: DisentangledFAS, images: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        liveness_gradcam(model, images[:, :1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        liveness_gradcam(model, images * 255)
    with pytest.raises(TypeError):
        liveness_gradcam(model, (images * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="target"):
        liveness_gradcam(model, images, target="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 \\(spoof\\) or 1"):
        liveness_gradcam(model, images, target=2)
    with pytest.raises(ValueError, match="entries"):
        liveness_gradcam(model, images, target=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="unknown CAM method"):
        liveness_gradcam(model, images, method="nope")


def test_missing_grad_cam_names_the_extra(
    model: DisentangledFAS, images: torch.Tensor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", None)
    with pytest.raises(ImportError, match=r"disentangle-fas\[explain\]"):
        liveness_gradcam(model, images)


def test_grid_png(tmp_path: Path, model: DisentangledFAS, images: torch.Tensor) -> None:
    res = liveness_gradcam(model, images)
    out = save_gradcam_grid(
        tmp_path / "sub" / "grid.png",
        images,
        res.maps,
        scores=res.scores,
        labels=torch.tensor([1, 0, 1]),
        captions=["O", "C", "I"],
        title="test",
    )
    assert out.is_file() and out.stat().st_size > 1000
    with Image.open(out) as im:
        w, h = im.size
        assert im.format == "PNG" and w > h > 0  # 3 columns, 2 rows


def test_grid_compares_rows_and_checks_sizes(tmp_path: Path, images: torch.Tensor) -> None:
    maps = {"a": torch.rand(3, 8, 8), "b": torch.rand(3, 64, 64)}  # resized to the images
    out = save_gradcam_grid(
        tmp_path / "g.png", images, maps, scores={"a": torch.rand(3), "b": torch.rand(3)}
    )
    with Image.open(out) as im:
        im.load()
    with pytest.raises(ValueError, match="entries"):
        save_gradcam_grid(tmp_path / "x.png", images, torch.rand(2, 64, 64))
    with pytest.raises(ValueError, match="labels"):
        save_gradcam_grid(tmp_path / "x.png", images, torch.rand(3, 64, 64), labels=[1])
    with pytest.raises(ValueError, match="keys"):
        save_gradcam_grid(tmp_path / "x.png", images, maps, scores={"a": torch.rand(3)})


def test_overlay_heatmap_blends() -> None:
    img = torch.rand(3, 5, 6)
    heat = torch.rand(5, 6)
    np.testing.assert_allclose(
        overlay_heatmap(img, heat, alpha=0.0), img.permute(1, 2, 0).numpy(), atol=1e-6
    )
    full = overlay_heatmap(img, torch.zeros(5, 6), alpha=1.0, cmap="gray")
    np.testing.assert_allclose(full, 0.0, atol=1e-6)
    with pytest.raises(ValueError):
        overlay_heatmap(img, torch.rand(4, 6))
    with pytest.raises(ValueError, match="alpha"):
        overlay_heatmap(img, heat, alpha=2.0)


def test_ssdg_r_liveness_path(images: torch.Tensor) -> None:
    torch.manual_seed(0)
    ssdg = SSDGR.from_config(SSDGConfig(num_domains=3, depth=10), warn_random=False).eval()
    wrapper = ssdg.liveness_path()
    torch.testing.assert_close(wrapper(images), ssdg(images).logits)
    res = liveness_gradcam(ssdg, images, target="live")
    assert res.maps.shape == (3, 64, 64) and res.layer_size == (2, 2)
    assert float(res.maps.min()) >= 0.0 and float(res.maps.max()) <= 1.0
    torch.testing.assert_close(res.scores, ssdg.live_score(images))
    assert resolve_target_layer(wrapper.encoder) is ssdg.encoder.layer4[-1]
