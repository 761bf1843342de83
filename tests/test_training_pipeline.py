"""The device-side input pipeline: uint8 reads, targets, flips, epochs, non-finite guard."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor
from torch.utils.data import default_collate

from _fake_task import TensorFAS
from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.data.manifest import ManifestEntry, write_manifest
from disentangle_fas.data.sampler import DomainBalancedBatchSampler
from disentangle_fas.data.store import StoreDataset
from disentangle_fas.data.subsets import DomainConcat
from disentangle_fas.synthetic import SyntheticFAS
from disentangle_fas.targets import PrecomputedTarget, TargetCache, make_fingerprint
from disentangle_fas.training.batches import (
    BatchReads,
    DeviceBatches,
    EpochBatches,
    configure_device,
    reads_uint8,
)
from disentangle_fas.training.data import IndexedSubset, Resize
from disentangle_fas.training.guards import NonFiniteGuard


class DeviceRecordingTeacher:
    """A content target that records the device, dtype and shape of every batch it sees."""

    name, version = "recording", "1"

    def __init__(self) -> None:
        self.calls: list[tuple[torch.device, torch.dtype, tuple[int, ...]]] = []
        self.images_seen = 0

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        return (1, image_size[0] // 2, image_size[1] // 2)

    def __call__(self, images: Tensor) -> Tensor:
        self.calls.append((images.device, images.dtype, tuple(images.shape)))
        self.images_seen += images.shape[0]
        return torch.nn.functional.avg_pool2d(images.mean(1, keepdim=True), 2)


class IndexedTeacher:
    """A provider around :class:`DeviceRecordingTeacher` (images and indices)."""

    def __init__(self, teacher: DeviceRecordingTeacher) -> None:
        self.teacher = teacher
        self.name, self.version = teacher.name, teacher.version

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        return self.teacher.output_shape(image_size)

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        return self.teacher(images)


def _store(root: Path, n: int = 24, size: int = 16) -> StoreDataset:
    rng = np.random.default_rng(0)
    np.save(root / "train.npy", rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8))
    entries = [
        ManifestEntry(
            path=f"crops/{i}.png", label=i % 2, attack=1 - i % 2, domain="OCI"[(i // 2) % 3],
            subject=f"s{i}", split="train", video_id=f"v{i}", frame=0,
        )
        for i in range(n)
    ]  # fmt: skip
    write_manifest(root / "train.jsonl", entries)
    meta = {"format": "disentangle-fas-store", "version": 1, "height": size, "width": size}
    (root / "store.json").write_text(json.dumps({**meta, "splits": {"train": n}}))
    return StoreDataset(root)


def _sampler(ds: object, batch: int = 6, seed: int = 0) -> DomainBalancedBatchSampler:
    return DomainBalancedBatchSampler(ds.labels, ds.domains, batch, seed=seed)  # type: ignore[attr-defined]


def test_uint8_conversion_matches_the_synthetic_datasets_float_images() -> None:
    values = torch.arange(256, dtype=torch.uint8)
    reference = values.to(torch.float32).div_(255.0)  # SyntheticFAS.__getitem__'s conversion
    assert torch.equal(uint8_to_float(values), reference)
    parts = [
        SyntheticFAS([d], samples_per_domain=4, image_size=32, seed=1, pre_render=True)
        for d in ("O", "C")
    ]
    concat = DomainConcat(parts)
    assert reads_uint8(concat)
    idx = [6, 0, 3, 7, 1]
    batch = concat.read_batch(idx)
    assert batch.image.dtype == torch.uint8
    collated = default_collate([concat[i] for i in idx])
    assert torch.equal(uint8_to_float(batch.image), collated.image)
    for field in ("label", "domain", "attack", "index"):
        assert getattr(batch, field).tolist() == getattr(collated, field).tolist(), field
    assert batch.video_id == list(collated.video_id)
    assert torch.equal(concat.read_batch(idx, dtype=torch.float32).image, collated.image)


def test_subset_uint8_batches_resized_on_the_device_equal_per_sample_reads(tmp_path: Path) -> None:
    store = _store(tmp_path)
    subset = IndexedSubset(store, np.array([5, 2, 9, 11, 20, 0]), Resize(12))
    assert reads_uint8(subset) and not reads_uint8(TensorFAS(6, [0], 8, 0))
    batch = subset.read_batch([3, 0, 5, 1])
    assert batch.image.dtype == torch.uint8 and batch.image.shape[-1] == 16  # not resized
    assert batch.index.tolist() == [11, 5, 0, 2]  # the parent's indices
    per_sample = torch.stack([subset[i].image for i in (3, 0, 5, 1)])
    assert per_sample.shape[-1] == 12
    on_device = subset.batch_transform(uint8_to_float(batch.image.contiguous()))  # type: ignore[misc]
    torch.testing.assert_close(on_device, per_sample, rtol=0, atol=1e-6)
    torch.testing.assert_close(
        subset.read_batch([3, 0, 5, 1], dtype=torch.float32).image, per_sample, rtol=0, atol=1e-6
    )
    with pytest.raises(TypeError, match="cannot read uint8"):
        IndexedSubset(TensorFAS(6, [0], 8, 0), [0, 1]).read_batch([0])


def test_epoch_batches_resume_anywhere_across_epochs() -> None:
    ds = TensorFAS(36, [0, 1, 2], 8, 0)
    inner = _sampler(ds)
    n = len(inner)
    whole = [b for _, b in zip(range(3 * n), EpochBatches(inner, 0), strict=False)]
    fresh = []  # the per-epoch loop this replaces
    for epoch in range(3):
        inner.set_epoch(epoch)
        fresh.extend(iter(inner))
    assert whole == fresh
    for start in (1, n - 1, n, n + 2):
        tail = [b for _, b in zip(range(3 * n - start), EpochBatches(inner, start), strict=False)]
        assert tail == whole[start:]
    with pytest.raises(ValueError, match="start"):
        EpochBatches(inner, -1)


def test_teacher_runs_on_the_training_device_before_the_flip() -> None:
    ds = TensorFAS(24, [0, 1, 2], 8, 0)
    teacher = DeviceRecordingTeacher()
    meta = torch.device("meta")  # any device other than the loader's CPU
    inputs = DeviceBatches(ds, _sampler(ds), meta, content=IndexedTeacher(teacher),
                         hflip=True, generator=torch.Generator().manual_seed(0))  # fmt: skip
    batch = next(inputs)
    assert teacher.calls == [(meta, torch.float32, (6, 3, 8, 8))]
    assert {t.device for t in (batch.images, batch.labels, batch.domains, batch.target)} == {meta}
    # On the CPU, values: the target is computed from the un-flipped image and flipped with it.
    cpu = DeviceBatches(ds, _sampler(ds), torch.device("cpu"), content=IndexedTeacher(teacher),
                      hflip=True, generator=torch.Generator().manual_seed(1))  # fmt: skip
    flips = torch.rand(6, generator=torch.Generator().manual_seed(1)) < 0.5
    b = next(cpu)
    assert b.target is not None and 0 < int(flips.sum()) < 6
    torch.testing.assert_close(b.target, DeviceRecordingTeacher()(b.images))
    raw = default_collate([ds[i] for i in next(iter(_sampler(ds)))]).image
    expected = torch.where(flips[:, None, None, None], raw.flip(-1), raw)
    assert torch.equal(b.images, expected)


def test_cache_rows_are_read_with_the_batch_and_misses_filled_on_the_device(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    teacher = DeviceRecordingTeacher()
    cache = TargetCache(tmp_path / "cache", teacher, num_items=len(store), image_size=(16, 16),
                        dataset_fingerprint=make_fingerprint("store"))  # fmt: skip
    sampler = _sampler(store)
    inputs = DeviceBatches(store, sampler, torch.device("cpu"), content=cache)
    epoch = [next(inputs) for _ in range(len(sampler))]
    seen_first = teacher.images_seen
    assert 0 < seen_first <= len(sampler) * 6 and all(c[0].type == "cpu" for c in teacher.calls)
    again = [next(inputs) for _ in range(len(sampler))]  # epoch 1: other draws, some new
    inputs.close()
    for b in epoch + again:  # every target: the fp16-rounded teacher output of its image
        assert b.target is not None
        expected = teacher(b.images).to(torch.float16).float()
        assert torch.equal(b.target, expected)
    # Once every entry is stored, reading a batch no longer runs the teacher.
    cache.fill(store, progress=False)
    before = teacher.images_seen
    host = BatchReads(store, cache)[[0, 1, 2]]
    assert host.filled is not None and bool(host.filled.all())
    b = DeviceBatches(store, sampler, torch.device("cpu"), content=cache).to_device(host)
    assert teacher.images_seen == before and b.target is not None
    assert torch.equal(b.target, cache.lookup(torch.tensor([0, 1, 2])))


def test_cache_reader_in_a_worker_sees_entries_stored_later(tmp_path: Path) -> None:
    store = _store(tmp_path)
    teacher = DeviceRecordingTeacher()
    cache = TargetCache(tmp_path / "cache", teacher, num_items=len(store), image_size=(16, 16),
                        dataset_fingerprint=make_fingerprint("store"))  # fmt: skip
    sampler = _sampler(store)
    inputs = DeviceBatches(store, sampler, torch.device("cpu"), content=cache, num_workers=1)
    batches = [next(inputs) for _ in range(3 * len(sampler))]
    inputs.close()
    assert teacher.images_seen < 3 * len(sampler) * 6  # later epochs read stored rows
    for b in batches:
        assert b.target is not None
        assert torch.equal(b.target, teacher(b.images).to(torch.float16).float())


def test_precomputed_targets_are_read_with_the_batch() -> None:
    ds = TensorFAS(24, [0, 1, 2], 8, 0)
    table = PrecomputedTarget(ds.geometry)
    host = BatchReads(ds, table)[[4, 1, 7]]
    assert host.filled is None and host.target is not None
    assert torch.equal(host.target, ds.geometry[[4, 1, 7]])
    b = DeviceBatches(ds, _sampler(ds), torch.device("cpu"), content=table).to_device(host)
    assert b.target is not None and torch.equal(b.target, ds.geometry[[4, 1, 7]])
    assert b.images.is_contiguous()


def test_hflip_needs_a_generator() -> None:
    ds = TensorFAS(12, [0, 1, 2], 8, 0)
    with pytest.raises(ValueError, match="generator"):
        DeviceBatches(ds, _sampler(ds), torch.device("cpu"), hflip=True)


def test_configure_device_leaves_cpu_runs_alone() -> None:
    before = torch.backends.cudnn.benchmark
    configure_device(torch.device("cpu"))
    assert torch.backends.cudnn.benchmark == before


@given(st.lists(st.sampled_from([0.5, -2.0, float("nan"), float("inf"), -float("inf")]),
                min_size=1, max_size=30))  # fmt: skip
def test_guard_reports_the_first_non_finite_step(values: list[float]) -> None:
    guard = NonFiniteGuard(torch.device("cpu"))
    for step, v in enumerate(values):
        guard.update(torch.tensor([1.0, v]), step + 10)
    bad = [i for i, v in enumerate(values) if not np.isfinite(v)]
    assert guard.first_bad() == (bad[0] + 10 if bad else None)


@pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")
def test_loop_runs_the_teacher_on_the_models_device(tmp_path: Path) -> None:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.training import train

    teacher = DeviceRecordingTeacher()
    task = fake_task()
    task.content, task.content_shape = IndexedTeacher(teacher), (1, 16, 16)
    res = train(tiny_config(str(tmp_path / "run"), variant="content", steps=2), task)
    device = next(res.model.parameters()).device  # type: ignore[attr-defined]
    assert teacher.calls == [(device, torch.float32, (6, 3, 32, 32))] * 2


@pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")
def test_nan_at_step_k_stops_the_run_with_the_last_evaluation_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from _fake_task import fake_task, tiny_config
    from disentangle_fas.contracts import Losses
    from disentangle_fas.methods.disentangle import DisentanglementMethod
    from disentangle_fas.training import NonFiniteLossError, train

    out = tmp_path / "run"
    real = DisentanglementMethod.loss
    calls: list[int] = []
    saved: dict[str, bytes] = {}

    def poisoned(self: DisentanglementMethod, *args: object) -> Losses:
        losses = real(self, *args)  # type: ignore[arg-type]
        calls.append(len(calls))
        if len(calls) == 4:  # step 3; the evaluation of step 3 (done) is on disk now
            saved.update({f: (out / f).read_bytes() for f in ("state.safetensors",
                          "last.safetensors", "log.jsonl")})  # fmt: skip
            return losses._replace(total=losses.total * float("nan"))
        return losses

    monkeypatch.setattr(DisentanglementMethod, "loss", poisoned)
    cfg = tiny_config(str(out), steps=8, eval_every=3, log_every=5)
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 3 "):
        train(cfg, fake_task())
    assert len(calls) == 5  # detected at the next log step, before anything was written
    for name, data in saved.items():
        assert (out / name).read_bytes() == data, name


@pytest.mark.parametrize("resize", [None, 12])
def test_uint8_flips_equal_flipping_the_float_images(tmp_path: Path, resize: int | None) -> None:
    store = _store(tmp_path)
    subset = IndexedSubset(store, np.arange(len(store)), None if resize is None else Resize(resize))
    side = resize or 16
    teacher = DeviceRecordingTeacher()
    cache = TargetCache(tmp_path / "cache", teacher, num_items=len(store), image_size=(side, side),
                        dataset_fingerprint=make_fingerprint("store", side))  # fmt: skip
    sampler = _sampler(store, seed=2)
    inputs = DeviceBatches(subset, sampler, torch.device("cpu"), content=cache, hflip=True,
                         generator=torch.Generator().manual_seed(1))  # fmt: skip
    coins = torch.Generator().manual_seed(1)
    for indices in list(iter(sampler))[:3]:
        b = next(inputs)
        flips = (torch.rand(6, generator=coins) < 0.5)[:, None, None, None]
        raw = torch.stack([subset[i].image for i in indices])  # per-sample float reads
        torch.testing.assert_close(b.images, torch.where(flips, raw.flip(-1), raw),
                                   rtol=0, atol=0 if resize is None else 1e-6)  # fmt: skip
        unflipped = teacher(raw).to(torch.float16).float()  # the teacher saw raw images
        assert b.target is not None
        torch.testing.assert_close(b.target, torch.where(flips, unflipped.flip(-1), unflipped),
                                   rtol=0, atol=1e-3)  # fmt: skip


def test_close_stops_the_loader_workers_even_while_a_traceback_holds_the_iterator(
    tmp_path: Path,
) -> None:
    import multiprocessing

    store = _store(tmp_path)
    inputs = DeviceBatches(store, _sampler(store), torch.device("cpu"), num_workers=1)
    held = None
    try:
        next(inputs)
        held = inputs._batches  # as a traceback's frame would, after Ctrl-C
        assert multiprocessing.active_children()
    finally:
        inputs.close()
    assert held is not None and not multiprocessing.active_children()
