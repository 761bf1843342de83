"""PRNetTarget: refuses to run without weights, frozen, depth/position outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disentangle_fas.targets import ContentTarget, PRNet, PRNetTarget, save_prnet


@pytest.fixture(scope="module")
def prnet() -> PRNet:
    """Random weights with BN statistics calibrated on random images (non-flat outputs)."""
    torch.manual_seed(0)
    net = PRNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.momentum = None
        net.train()(torch.rand(1, 3, 256, 256))
    return net.eval()


@pytest.fixture(scope="module")
def weights_file(prnet: PRNet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_prnet(prnet, tmp_path_factory.mktemp("w") / "prnet.safetensors")


@pytest.mark.parametrize("arg", [None, "fresh"])
def test_refuses_without_weights(arg: str | None) -> None:
    given = PRNet() if arg == "fresh" else None
    with pytest.raises(RuntimeError) as info:
        PRNetTarget(given)
    msg = str(info.value)
    assert "TensorFlow checkpoint" in msg
    assert "pytorchcv" in msg
    assert "local" in msg and "never downloads" in msg
    with pytest.raises(RuntimeError, match="allow_random=True"):
        PRNetTarget.from_module(PRNet())


def test_load_state_dict_marks_weights(prnet: PRNet) -> None:
    partial = PRNet()
    partial.load_state_dict({"stem.conv.weight": prnet.stem.conv.weight}, strict=False)
    assert partial.weights_source is None
    with pytest.raises(RuntimeError, match="pretrained PRNet weights"):
        PRNetTarget(partial)
    full = PRNet()
    full.load_state_dict(prnet.state_dict())
    assert full.weights_source == "state_dict"
    assert PRNetTarget(full, output_size=8).output_shape((64, 64)) == (1, 8, 8)


def test_missing_weights_file() -> None:
    with pytest.raises(FileNotFoundError):
        PRNetTarget("/nonexistent/prnet.safetensors")


def test_loads_from_path(weights_file: Path, prnet: PRNet) -> None:
    t = PRNetTarget(weights_file, mode="position")
    assert isinstance(t, ContentTarget)
    assert t.prnet.weights_source == str(weights_file)
    assert not t.random_weights
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = prnet.forward_normalized(x)
    torch.testing.assert_close(t(x), expected)
    # same weights, same version, whichever way they came in
    assert t.version == PRNetTarget.from_module(prnet, mode="position", allow_random=True).version


def test_version_changes_with_weights(prnet: PRNet) -> None:
    a = PRNetTarget.from_module(prnet, allow_random=True)
    other = PRNet()
    b = PRNetTarget.from_module(other, allow_random=True)
    assert a.version != b.version
    assert a.name == "prnet-depth"


def test_frozen_and_no_grad(prnet: PRNet) -> None:
    t = PRNetTarget.from_module(prnet, mode="depth", output_size=16, allow_random=True)
    assert all(not p.requires_grad for p in t.prnet.parameters())
    t.prnet.train()  # someone flips it: the target still runs in eval mode
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    out = t(x)
    assert not t.prnet.training
    assert not out.requires_grad
    # a loss on a student that uses the target leaves the teacher untouched
    student = torch.nn.Conv2d(3, 1, 1)
    pred = F.adaptive_avg_pool2d(student(x), 16)
    F.mse_loss(pred, out).backward()
    assert all(p.grad is None for p in t.prnet.parameters())
    assert student.weight.grad is not None


def test_depth_mode(prnet: PRNet) -> None:
    t = PRNetTarget.from_module(prnet, mode="depth", output_size=(32, 16), allow_random=True)
    x = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    out = t(x)
    assert out.shape == (2, 1, 32, 16) and t.output_shape((48, 48)) == (1, 32, 16)
    assert out.dtype == torch.float32
    flat = out.flatten(1)
    torch.testing.assert_close(flat.min(1).values, torch.zeros(2), atol=1e-6, rtol=0)
    torch.testing.assert_close(flat.max(1).values, torch.ones(2), atol=1e-6, rtol=0)
    # independent reference: numpy min-max of the area-downsampled z channel
    x256 = F.interpolate(x, size=(256, 256), mode="bilinear", antialias=True).clamp(0, 1)
    with torch.no_grad():
        z = prnet.forward_normalized(x256)[:, 2].numpy()
    z = z.reshape(2, 32, 8, 16, 16).mean(axis=(2, 4))  # area pooling by 8x16 blocks
    lo, hi = z.min(axis=(1, 2), keepdims=True), z.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out[:, 0].numpy(), (z - lo) / (hi - lo), atol=2e-4)


def test_position_mode_in_unit_range(prnet: PRNet) -> None:
    t = PRNetTarget.from_module(prnet, mode="position", allow_random=True)
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(2))
    out = t(x)
    assert out.shape == (1, 3, 256, 256) == (1, *t.output_shape((256, 256)))
    with torch.no_grad():
        pixels = prnet(x)
    torch.testing.assert_close(out * (256 * 1.1), pixels, rtol=1e-5, atol=1e-3)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_rejects_normalised_images(prnet: PRNet) -> None:
    t = PRNetTarget.from_module(prnet, allow_random=True)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        t(torch.randn(1, 3, 64, 64) * 3)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        t(torch.rand(3, 64, 64))
    with pytest.raises(TypeError):
        t(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))


def test_bad_arguments(prnet: PRNet) -> None:
    with pytest.raises(ValueError, match="mode"):
        PRNetTarget.from_module(prnet, mode="normals", allow_random=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="output_size"):
        PRNetTarget.from_module(prnet, output_size=(0, 4), allow_random=True)
    with pytest.raises(TypeError):
        PRNetTarget(42)  # type: ignore[arg-type]
