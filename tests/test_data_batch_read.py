"""Batched store reads: read_batch / BatchReader / uint8_to_float against per-sample reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, default_collate

from disentangle_fas.data import (
    DomainBalancedBatchSampler,
    ImageFolderDataset,
    ManifestEntry,
    StoreDataset,
    pack_store,
    write_manifest,
)
from disentangle_fas.data.datasets import BatchReader, uint8_to_float
from disentangle_fas.types import FASSample

SIZE = 12


def write_store(root: Path, splits: dict[str, int]) -> dict[str, np.ndarray]:
    """A store written directly in the store format; returns the arrays by split."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in splits.items():
        arrays[split] = rng.integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)
        np.save(root / f"{split}.npy", arrays[split])
        entries = [
            ManifestEntry(
                f"crops/{split}/{i}.png",
                label=i % 2,
                attack=0 if i % 2 else 1 + i % 3,
                domain="OCI"[(i // 2) % 3],
                subject=f"s{i}",
                split=split,
                video_id=f"{split}:v{i // 4}",
                frame=i % 4,
            )
            for i in range(n)
        ]
        write_manifest(root / f"{split}.jsonl", entries)
    meta = {"format": "disentangle-fas-store", "version": 1, "height": SIZE, "width": SIZE}
    (root / "store.json").write_text(json.dumps({**meta, "splits": splits}))
    return arrays


def assert_same_batch(a: FASSample, b: FASSample) -> None:
    assert isinstance(a.image, torch.Tensor) and isinstance(b.image, torch.Tensor)
    assert a.image.dtype == b.image.dtype and torch.equal(a.image, b.image)
    for name in ("label", "domain", "attack", "index"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == torch.int64, name
        assert torch.equal(x, y), name
    assert list(a.video_id) == list(b.video_id)  # default_collate gives a tuple


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[StoreDataset, dict[str, np.ndarray]]:
    root = tmp_path_factory.mktemp("store")
    arrays = write_store(root, {"train": 24, "test": 12})
    return StoreDataset(root), arrays


def test_getitem_matches_numpy_reference(store: tuple[StoreDataset, dict]) -> None:
    ds, arrays = store
    stacked = np.concatenate([arrays["train"], arrays["test"]])
    for i in (0, 5, 23, 24, 35):
        ref = np.ascontiguousarray(stacked[i].transpose(2, 0, 1)).astype(np.float32) / 255
        image = ds[i].image
        assert image.is_contiguous() and image.dtype == torch.float32
        assert np.array_equal(image.numpy(), ref)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 35), min_size=1, max_size=10))
def test_read_batch_equals_collated_samples(
    store: tuple[StoreDataset, dict], indices: list[int]
) -> None:
    ds, _ = store
    expected = default_collate([ds[i] for i in indices])
    batch = ds.read_batch(indices)
    assert batch.image.is_contiguous()
    assert_same_batch(batch, expected)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 35), min_size=1, max_size=10))
def test_uint8_batch_converts_to_the_float_batch(
    store: tuple[StoreDataset, dict], indices: list[int]
) -> None:
    ds, arrays = store
    raw = ds.read_batch(indices, dtype=torch.uint8)
    assert raw.image.dtype == torch.uint8 and raw.image.shape == (len(indices), 3, SIZE, SIZE)
    assert raw.image.is_contiguous(memory_format=torch.channels_last)
    stacked = np.concatenate([arrays["train"], arrays["test"]])
    assert np.array_equal(raw.image.permute(0, 2, 3, 1).numpy(), stacked[indices])
    converted = raw._replace(image=uint8_to_float(raw.image))
    assert_same_batch(converted, ds.read_batch(indices))


def test_uint8_to_float_exact_for_every_value() -> None:
    values = torch.arange(256, dtype=torch.uint8)
    ref = np.arange(256, dtype=np.float32) / np.float32(255)
    assert np.array_equal(uint8_to_float(values).numpy(), ref)
    x = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8).contiguous(
        memory_format=torch.channels_last
    )
    y = uint8_to_float(x)
    assert y.dtype == torch.float32 and y.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(TypeError, match="uint8"):
        uint8_to_float(torch.zeros(3))


def test_read_batch_selection_and_transform(tmp_path: Path) -> None:
    write_store(tmp_path, {"train": 24, "test": 12})
    ds = StoreDataset(tmp_path, splits=["test", "train"], domains=["I", "O"], attacks=[0, 2])
    idx = list(range(len(ds)))[::-1]
    assert_same_batch(ds.read_batch(idx), default_collate([ds[i] for i in idx]))
    flip = StoreDataset(tmp_path, transform=lambda img: img.flip(-1))
    assert_same_batch(flip.read_batch([3, 30, 3]), default_collate([flip[i] for i in [3, 30, 3]]))
    with pytest.raises(ValueError, match="transform"):
        flip.read_batch([0], dtype=torch.uint8)
    with pytest.raises(ValueError, match="transform"):
        BatchReader(flip)


def test_read_batch_errors(store: tuple[StoreDataset, dict]) -> None:
    ds, _ = store
    with pytest.raises(IndexError, match="out of range"):
        ds.read_batch([0, 36])
    with pytest.raises(IndexError, match="out of range"):
        ds.read_batch([-1])
    with pytest.raises(ValueError, match="non-empty"):
        ds.read_batch([])
    with pytest.raises(ValueError, match="1-D"):
        ds.read_batch(np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(TypeError, match="integers"):
        ds.read_batch(np.array([0.5]))
    with pytest.raises(ValueError, match="dtype"):
        ds.read_batch([0], dtype=torch.float16)
    assert_same_batch(ds.read_batch(torch.tensor([2, 1])), ds.read_batch(np.array([2, 1])))


def test_batch_reader_with_balanced_sampler(store: tuple[StoreDataset, dict]) -> None:
    ds, _ = store
    sampler = DomainBalancedBatchSampler.from_dataset(ds, 6, seed=3)
    per_sample = list(DataLoader(ds, batch_sampler=sampler))
    for dtype in (torch.uint8, torch.float32):
        batched = list(DataLoader(BatchReader(ds, dtype=dtype), sampler=sampler, batch_size=None))
        assert len(batched) == len(per_sample) == len(sampler)
        for got, want in zip(batched, per_sample, strict=True):
            assert isinstance(got, FASSample)
            if dtype == torch.uint8:
                got = got._replace(image=uint8_to_float(got.image))
            assert_same_batch(got, want)


def test_batch_reader_in_worker_processes(store: tuple[StoreDataset, dict]) -> None:
    ds, _ = store
    sampler = DomainBalancedBatchSampler.from_dataset(ds, 6, seed=4)
    loader = DataLoader(BatchReader(ds), sampler=sampler, batch_size=None, num_workers=2)
    for got, want in zip(loader, DataLoader(ds, batch_sampler=sampler), strict=True):
        assert_same_batch(got._replace(image=uint8_to_float(got.image)), want)


def test_image_folder_read_batch(tmp_path: Path) -> None:
    from PIL import Image

    arrays = write_store(tmp_path / "store", {"train": 12})
    entries = []
    for i, img in enumerate(arrays["train"]):
        path = tmp_path / "crops" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(img).save(path)
        entries.append(ManifestEntry(f"crops/{i}.png", i % 2, 1 - i % 2, "O", "s", "train", "v"))
    write_manifest(tmp_path / "manifest.jsonl", entries)
    files = ImageFolderDataset(tmp_path / "manifest.jsonl")
    idx = [0, 11, 4]
    assert_same_batch(files.read_batch(idx), default_collate([files[i] for i in idx]))
    raw = files.read_batch(idx, dtype=torch.uint8).image
    assert np.array_equal(raw.permute(0, 2, 3, 1).numpy(), arrays["train"][idx])
    packed = pack_store(tmp_path / "manifest.jsonl", tmp_path / "packed", progress=False)
    assert packed == {"train": 12}
    assert_same_batch(StoreDataset(tmp_path / "packed").read_batch(idx), files.read_batch(idx))


def test_mixed_sizes_cannot_be_batched(tmp_path: Path) -> None:
    from PIL import Image

    entries = []
    for i, side in enumerate((8, 8, 10)):
        Image.new("RGB", (side, side), (i, 2 * i, 3 * i)).save(tmp_path / f"{i}.png")
        entries.append(ManifestEntry(f"{i}.png", i % 2, 1 - i % 2, "O", "s", "train", "v", i))
    write_manifest(tmp_path / "manifest.jsonl", entries)
    files = ImageFolderDataset(tmp_path / "manifest.jsonl")
    assert files.read_batch([0, 1]).image.shape == (2, 3, 8, 8)
    for dtype in (torch.float32, torch.uint8):
        with pytest.raises(ValueError, match="different sizes"):
            files.read_batch([0, 2], dtype=dtype)
    resized = ImageFolderDataset(tmp_path / "manifest.jsonl", size=8)
    assert resized.read_batch([0, 2], dtype=torch.uint8).image.shape == (2, 3, 8, 8)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 35), min_size=0, max_size=8))
def test_getitems_equals_per_sample_reads(
    store: tuple[StoreDataset, dict], indices: list[int]
) -> None:
    ds, _ = store
    got = ds.__getitems__(indices)
    want = [ds[i] for i in indices]
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert isinstance(a, FASSample)
        assert a.image.shape == b.image.shape and torch.equal(a.image, b.image)
        assert a[1:] == b[1:]
        assert all(type(x) is type(y) for x, y in zip(a[1:], b[1:], strict=True))


def test_dataloader_batches_equal_collated_per_sample_reads(
    store: tuple[StoreDataset, dict],
) -> None:
    ds, _ = store
    sampler = DomainBalancedBatchSampler.from_dataset(ds, 6, seed=5)
    flip = StoreDataset(ds.store_dir, transform=lambda img: img.flip(-1))
    for dataset in (ds, flip):
        loaded = list(DataLoader(dataset, batch_sampler=sampler))
        for got, indices in zip(loaded, sampler, strict=True):
            assert_same_batch(got, default_collate([dataset[i] for i in indices]))
    with pytest.raises(IndexError):
        ds.__getitems__([0, 99])
