"""TargetCache: same training as the live teacher, invalidation, resume after interruption."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from disentangle_fas.targets import (
    ImageTargetProvider,
    ModuleTarget,
    PRNet,
    PRNetTarget,
    TargetCache,
    TargetProvider,
    make_fingerprint,
)
from disentangle_fas.types import FASSample

FP16_STEP = 2.0**-11  # float16 spacing in [0.5, 1): an upper bound of the rounding error


class _Faces(Dataset[FASSample]):
    def __init__(self, n: int = 12, size: int = 16, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.rand(n, 3, size, size, generator=gen)
        self.fingerprint = make_fingerprint("faces", n, size, seed)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> FASSample:
        return FASSample(self.images[i], i % 2, 0, i % 2, i, f"video{i}")


class _Counting:
    """A content target that counts how many images it was run on."""

    def __init__(self, inner: ModuleTarget | PRNetTarget) -> None:
        self.inner = inner
        self.name, self.version = inner.name, inner.version
        self.images_seen = 0

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        return self.inner.output_shape(image_size)

    def __call__(self, images: Tensor) -> Tensor:
        self.images_seen += images.shape[0]
        return self.inner(images)


def _teacher(version: str = "1", pool: int = 2) -> _Counting:
    torch.manual_seed(123)
    net = nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.Sigmoid(), nn.AvgPool2d(pool))
    return _Counting(ModuleTarget(net, name="toy", version=version))


class _Rounded:
    """Live teacher whose output is rounded to float16: what a cache should reproduce."""

    def __init__(self, target: _Counting) -> None:
        self.target, self.name, self.version = target, target.name, target.version

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        return self.target.output_shape(image_size)

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        return self.target(images).half().float()


def _train(
    provider: TargetProvider, dataset: _Faces, out_shape: tuple[int, int, int], epochs: int = 2
) -> tuple[list[float], list[Tensor]]:
    torch.manual_seed(0)
    student = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, out_shape[0], 1))
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    loader = DataLoader(dataset, batch_size=4, shuffle=True,
                        generator=torch.Generator().manual_seed(1))  # fmt: skip
    losses, targets = [], []
    for _ in range(epochs):
        for batch in loader:
            target = provider(batch.image, batch.index)
            pred = F.adaptive_avg_pool2d(student(batch.image), out_shape[1:])
            loss = F.mse_loss(pred, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            targets.append(target.clone())
    return losses, targets


def test_training_with_cache_equals_live_teacher(tmp_path: Path) -> None:
    data = _Faces()
    shape = (2, 8, 8)
    live_t = _teacher()
    live_losses, live_targets = _train(ImageTargetProvider(live_t), data, shape)
    rounded_losses, _ = _train(_Rounded(_teacher()), data, shape)

    lazy_t = _teacher()
    lazy = TargetCache.for_dataset(tmp_path / "lazy", lazy_t, data)
    lazy_losses, lazy_targets = _train(lazy, data, shape)

    eager_t = _teacher()
    eager = TargetCache.for_dataset(tmp_path / "eager", eager_t, data)
    assert eager.fill(data, batch_size=5, progress=False) == len(data)
    seen_after_fill = eager_t.images_seen
    eager_losses, eager_targets = _train(eager, data, shape)

    # the teacher ran every step when live, once per image with a cache
    assert live_t.images_seen == 2 * len(data)
    assert lazy_t.images_seen == len(data)
    assert seen_after_fill == len(data) and eager_t.images_seen == len(data)

    for live, cached, filled in zip(live_targets, lazy_targets, eager_targets, strict=True):
        assert cached.dtype == torch.float32
        # exactly the live targets up to float16 rounding
        torch.testing.assert_close(cached, live.half().float(), rtol=0, atol=0)
        torch.testing.assert_close(filled, cached, rtol=0, atol=0)
        assert (cached - live).abs().max().item() <= FP16_STEP
    # identical loss values to a live run with float16-rounded targets, and close to live
    assert lazy_losses == rounded_losses
    assert eager_losses == rounded_losses
    np.testing.assert_allclose(lazy_losses, live_losses, rtol=1e-3)


@pytest.mark.slow
def test_training_with_cached_prnet_equals_live(tmp_path: Path) -> None:
    torch.manual_seed(0)
    prnet = PRNet()
    target = PRNetTarget.from_module(prnet, mode="position", output_size=8, allow_random=True)
    data = _Faces(n=4, size=32)
    counting = _Counting(target)
    cache = TargetCache.for_dataset(tmp_path, counting, data)
    cached_losses, cached_targets = _train(cache, data, (3, 8, 8))
    live_losses, live_targets = _train(_Rounded(_Counting(target)), data, (3, 8, 8))
    assert counting.images_seen == len(data)
    for live, cached in zip(live_targets, cached_targets, strict=True):
        assert (cached - live).abs().max().item() <= FP16_STEP / 2
    np.testing.assert_allclose(cached_losses, live_losses, rtol=1e-5)


def test_lazy_fill_duplicates_and_partial_hits(tmp_path: Path) -> None:
    data = _Faces(n=6)
    t = _teacher()
    cache = TargetCache.for_dataset(tmp_path, t, data)
    assert cache.rebuilt and cache.num_filled == 0
    idx = torch.tensor([1, 1, 3])
    out = cache(data.images[idx], idx)
    assert t.images_seen == 2 and cache.num_filled == 2
    idx2 = torch.tensor([3, 2, 1])
    out2 = cache(data.images[idx2], idx2)
    assert t.images_seen == 3
    expected = t.inner(data.images).half().float()
    torch.testing.assert_close(out, expected[idx], rtol=0, atol=0)
    torch.testing.assert_close(out2, expected[idx2], rtol=0, atol=0)
    np.testing.assert_array_equal(cache.filled, [False, True, True, True, False, False])
    torch.testing.assert_close(cache.lookup(torch.tensor([2])), expected[[2]])
    with pytest.raises(KeyError, match=r"\[0\]"):
        cache.lookup(torch.tensor([0, 1]))


def test_invalidation(tmp_path: Path) -> None:
    data = _Faces(n=5)
    (tmp_path / "keep.txt").write_text("other files are left alone")
    v1 = TargetCache.for_dataset(tmp_path, _teacher("1"), data)
    v1.fill(data, progress=False)
    stored = v1.lookup(torch.arange(5))
    v1.close()

    again_t = _teacher("1")
    again = TargetCache.for_dataset(tmp_path, again_t, data)
    assert not again.rebuilt and again.complete
    torch.testing.assert_close(again(data.images, torch.arange(5)), stored, rtol=0, atol=0)
    assert again_t.images_seen == 0
    again.close()

    v2 = TargetCache.for_dataset(tmp_path, _teacher("2"), data)
    assert v2.rebuilt and v2.num_filled == 0
    assert json.loads((tmp_path / "meta.json").read_text())["key"]["target_version"] == "2"
    v2.fill(data, progress=False)
    v2.close()

    changed = [
        TargetCache.for_dataset(tmp_path, _teacher("2"), data, dataset_fingerprint="other"),
        TargetCache.for_dataset(tmp_path, _teacher("2", pool=4), data),  # target shape
        TargetCache.for_dataset(tmp_path, _teacher("2"), _Faces(n=6)),  # N and fingerprint
        TargetCache.for_dataset(tmp_path, _teacher("2"), _Faces(n=5, size=8)),  # image size
    ]
    for cache in changed:
        assert cache.rebuilt and cache.num_filled == 0
        cache.close()
    (tmp_path / "meta.json").write_text("{not json")
    assert TargetCache.for_dataset(tmp_path, _teacher("2"), _Faces(n=5, size=8)).rebuilt
    assert (tmp_path / "keep.txt").read_text() == "other files are left alone"


class _Interrupting(_Faces):
    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at

    def __getitem__(self, i: int) -> FASSample:
        if i == self.fail_at:
            raise KeyboardInterrupt
        return super().__getitem__(i)


def test_resume_after_interrupted_fill(tmp_path: Path) -> None:
    data = _Faces()
    first = TargetCache.for_dataset(tmp_path, _teacher(), data)
    with pytest.raises(KeyboardInterrupt):
        first.fill(_Interrupting(fail_at=9), batch_size=4, progress=False)
    del first  # no close(): the process could have died here

    t = _teacher()
    resumed = TargetCache.for_dataset(tmp_path, t, data)
    assert not resumed.rebuilt
    np.testing.assert_array_equal(resumed.filled, np.arange(12) < 8)
    assert resumed.fill(data, batch_size=4, progress=False) == 4
    assert t.images_seen == 4 and resumed.complete
    expected = t.inner(data.images).half().float()
    torch.testing.assert_close(resumed.lookup(torch.arange(12)), expected, rtol=0, atol=0)


_KILLED_FILL = """
import os, sys, torch
from torch import nn
from disentangle_fas.targets import ModuleTarget, TargetCache
images = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(0))
inner = ModuleTarget(nn.Sequential(nn.AvgPool2d(2), nn.Sigmoid()), name="pool")
class Dying:
    name, version, calls = inner.name, inner.version, 0
    def output_shape(self, size): return inner.output_shape(size)
    def __call__(self, x):
        Dying.calls += 1
        if Dying.calls == 3:
            os._exit(7)  # killed mid-fill: no cleanup, no close()
        return inner(x)
cache = TargetCache(sys.argv[1], Dying(), num_items=10, image_size=(8, 8),
                    dataset_fingerprint="fp")
cache.fill(torch.utils.data.TensorDataset(images), batch_size=3, progress=False)
"""


@pytest.mark.slow
def test_resume_after_killed_process(tmp_path: Path) -> None:
    code = textwrap.dedent(_KILLED_FILL)
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False)
    assert proc.returncode == 7
    images = torch.rand(10, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    inner = ModuleTarget(nn.Sequential(nn.AvgPool2d(2), nn.Sigmoid()), name="pool")
    cache = TargetCache(tmp_path, inner, num_items=10, image_size=(8, 8),
                        dataset_fingerprint="fp")  # fmt: skip
    assert not cache.rebuilt
    np.testing.assert_array_equal(cache.filled, np.arange(10) < 6)
    expected = inner(images).half().float()
    torch.testing.assert_close(cache.lookup(torch.arange(6)), expected[:6], rtol=0, atol=0)
    cache(images, torch.arange(10))
    assert cache.complete
    torch.testing.assert_close(cache.lookup(torch.arange(10)), expected, rtol=0, atol=0)


def test_errors(tmp_path: Path) -> None:
    data = _Faces(n=4)
    cache = TargetCache.for_dataset(tmp_path / "a", _teacher(), data)
    with pytest.raises(ValueError, match="images"):
        cache(torch.rand(2, 3, 8, 8), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="out of range"):
        cache(data.images[:1], torch.tensor([4]))
    with pytest.raises(ValueError, match="4 entries"):
        cache.fill(_Faces(n=5), progress=False)

    class _Shifted(_Faces):
        def __getitem__(self, i: int) -> FASSample:
            return super().__getitem__(i)._replace(index=i + 1)

    with pytest.raises(ValueError, match="must have index i"):
        cache.fill(_Shifted(n=4), progress=False)

    class _Plain(Dataset[Tensor]):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> Tensor:
            return torch.rand(3, 8, 8)

    with pytest.raises(ValueError, match="dataset_fingerprint"):
        TargetCache.for_dataset(tmp_path / "b", _teacher(), _Plain())
    huge = ModuleTarget(nn.Identity(), name="huge", output_shape=lambda s: (3, *s))
    huge.module.register_forward_hook(lambda m, i, o: o * 1e6)
    big = TargetCache(tmp_path / "c", huge, num_items=2, image_size=(8, 8),
                      dataset_fingerprint="x")  # fmt: skip
    with pytest.raises(ValueError, match="float16"):
        big(torch.rand(2, 3, 8, 8), torch.tensor([0, 1]))
    assert big.num_filled == 0
    with pytest.raises(ValueError, match="num_items"):
        TargetCache(tmp_path / "d", huge, num_items=0, image_size=(8, 8), dataset_fingerprint="x")


def test_rebuild_while_old_cache_is_open(tmp_path: Path) -> None:
    data = _Faces(n=3)
    old = TargetCache.for_dataset(tmp_path, _teacher("1"), data)
    old.fill(data, progress=False)
    before = old.lookup(torch.arange(3))
    new = TargetCache.for_dataset(tmp_path, _teacher("2", pool=4), data)
    assert new.rebuilt and new.num_filled == 0
    # the old object's memmaps point at the replaced files, which stay readable
    torch.testing.assert_close(old.lookup(torch.arange(3)), before, rtol=0, atol=0)
    new.fill(data, progress=False)
    assert new.lookup(torch.arange(3)).shape == (3, 2, 4, 4)
