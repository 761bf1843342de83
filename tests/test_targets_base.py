"""Protocols, ModuleTarget, ImageTargetProvider / as_provider, PrecomputedTarget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from disentangle_fas.targets import (
    ContentTarget,
    ImageTargetProvider,
    LandmarkHeatmapTarget,
    ModuleTarget,
    PrecomputedTarget,
    TargetProvider,
    as_provider,
)
from disentangle_fas.targets.base import check_images, check_indices


class _Teacher(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.drop(self.bn(self.conv(x)))
        return nn.functional.avg_pool2d(out, 2)


def test_module_target_is_frozen_and_deterministic() -> None:
    torch.manual_seed(0)
    teacher = _Teacher()
    t = ModuleTarget(teacher, name="toy", version="3")
    assert isinstance(t, ContentTarget)
    assert all(not p.requires_grad for p in teacher.parameters())
    teacher.train()  # flipped by someone else: dropout and BN stats would change outputs
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    stats = teacher.bn.running_mean.clone()
    a, b = t(x), t(x)
    assert not teacher.training
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert torch.equal(teacher.bn.running_mean, stats)
    assert not a.requires_grad and a.grad_fn is None
    with torch.no_grad():
        expected = teacher.eval()(x)
    torch.testing.assert_close(a, expected)
    assert t.output_shape((16, 16)) == (2, 8, 8)
    assert t.output_shape((20, 12)) == (2, 10, 6)


def test_module_target_resizes_and_explicit_shape() -> None:
    t = ModuleTarget(nn.Identity(), name="id", input_size=8, output_shape=lambda s: (3, 8, 8))
    out = t(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 3, 8, 8) and t.output_shape((32, 32)) == (3, 8, 8)
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_module_target_errors() -> None:
    with pytest.raises(TypeError):
        ModuleTarget(lambda x: x, name="f")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name"):
        ModuleTarget(nn.Identity(), name="")
    t = ModuleTarget(nn.Flatten(), name="flat")
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        t.output_shape((4, 4))


def test_check_images_and_indices() -> None:
    check_images(torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match="batch size 0"):
        check_images(torch.rand(0, 3, 4, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_images(torch.full((1, 3, 4, 4), 1.5))
    assert check_indices(torch.tensor([1, 2], dtype=torch.int32), 2, 3).dtype == torch.int64
    with pytest.raises(ValueError, match="out of range"):
        check_indices(torch.tensor([0, 3]), 2, 3)
    with pytest.raises(ValueError, match="match the batch"):
        check_indices(torch.tensor([0, 1, 2]), 2)
    with pytest.raises(TypeError):
        check_indices(torch.tensor([0.0, 1.0]), 2)


def test_image_provider_and_as_provider() -> None:
    t = ModuleTarget(nn.AvgPool2d(2), name="pool")
    p = as_provider(t)
    assert isinstance(p, ImageTargetProvider) and isinstance(p, TargetProvider)
    assert (p.name, p.version) == ("pool", "1")
    x = torch.rand(3, 3, 8, 8)
    torch.testing.assert_close(p(x, torch.arange(3)), nn.functional.avg_pool2d(x, 2))
    assert p.output_shape((8, 8)) == (3, 4, 4)
    pre = PrecomputedTarget(torch.zeros(3, 1, 2, 2))
    assert as_provider(pre) is pre
    lm = LandmarkHeatmapTarget(torch.zeros(3, 5, 2))
    assert as_provider(lm) is lm
    with pytest.raises(TypeError, match="ModuleTarget"):
        as_provider(nn.Identity())  # type: ignore[arg-type]
    assert as_provider(p) is p  # already a provider


class _UserTarget:
    """A user's target: the declaration, not the signature, says which kind it is."""

    name, version = "user", "1"

    def __init__(self, takes_indices: object = None) -> None:
        if takes_indices is not None:
            self.takes_indices = takes_indices

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        return (1, *image_size)

    def __call__(self, *args: Tensor) -> Tensor:  # a signature no counting could read
        return args[0].mean(1, keepdim=True) + (args[1].view(-1, 1, 1, 1) if len(args) > 1 else 0)


def test_as_provider_reads_the_declaration_not_the_signature() -> None:
    x, idx = torch.rand(2, 3, 4, 4), torch.tensor([3, 5])
    provider = _UserTarget(takes_indices=True)
    assert as_provider(provider) is provider  # type: ignore[arg-type,comparison-overlap]
    wrapped = as_provider(_UserTarget())  # type: ignore[arg-type]
    assert isinstance(wrapped, ImageTargetProvider)
    torch.testing.assert_close(wrapped(x, idx), x.mean(1, keepdim=True))  # indices unused
    assert isinstance(as_provider(_UserTarget(takes_indices=False)), ImageTargetProvider)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"takes_indices must be True .* or False .* got 'yes'"):
        as_provider(_UserTarget(takes_indices="yes"))  # type: ignore[arg-type]


def test_library_providers_declare_themselves() -> None:
    from disentangle_fas.targets import TargetCache

    for cls in (ImageTargetProvider, PrecomputedTarget, LandmarkHeatmapTarget, TargetCache):
        assert cls.takes_indices is True, cls.__name__
    assert getattr(ModuleTarget, "takes_indices", False) is False


def test_precomputed_tensor_numpy_memmap_callable(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    table = rng.random((6, 2, 4, 4)).astype(np.float32)
    idx = torch.tensor([5, 0, 5, 2])
    images = torch.zeros(4, 3, 32, 32)
    expected = torch.from_numpy(table[[5, 0, 5, 2]])
    mm = np.lib.format.open_memmap(tmp_path / "t.npy", mode="w+", dtype=np.float16,
                                   shape=table.shape)  # fmt: skip
    mm[:] = table
    sources: list[object] = [torch.from_numpy(table), table, mm, lambda i: table[i]]
    for source in sources:
        t = PrecomputedTarget(source, name="gt")  # type: ignore[arg-type]
        out = t(images, idx)
        assert out.dtype == torch.float32 and out.shape == (4, 2, 4, 4)
        tol = 1e-3 if source is mm else 0.0
        torch.testing.assert_close(out, expected, rtol=0, atol=tol)
        assert t.output_shape((32, 32)) == (2, 4, 4)


def test_precomputed_single_channel_and_errors() -> None:
    t = PrecomputedTarget(torch.arange(8.0).reshape(2, 2, 2))
    assert t.output_shape((1, 1)) == (1, 2, 2)
    assert t(torch.zeros(1, 3, 4, 4), torch.tensor([1])).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match="out of range"):
        t(torch.zeros(1, 3, 4, 4), torch.tensor([2]))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        PrecomputedTarget(torch.zeros(2))
    with pytest.raises(TypeError):
        PrecomputedTarget("nope")  # type: ignore[arg-type]
    bad = PrecomputedTarget(lambda i: torch.zeros(1, 2, 2 + i), shape=(1, 2, 2))
    with pytest.raises(ValueError, match="expected"):
        bad(torch.zeros(1, 3, 4, 4), torch.tensor([1]))
    with pytest.raises(ValueError, match="does not match"):
        PrecomputedTarget(torch.zeros(2, 1, 2, 2), shape=(1, 3, 3))
