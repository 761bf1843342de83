from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from disentangle_fas.data import (
    DomainBalancedBatchSampler,
    ImageFolderDataset,
    ManifestEntry,
    StoreDataset,
    leave_one_out,
    pack_store,
    read_manifest,
    select_entries,
    write_manifest,
)
from disentangle_fas.data.store import main as pack_main
from disentangle_fas.types import FASSample

SIZE = 16


def make_crops(root: Path, fmt: str = "png") -> list[ManifestEntry]:
    """3 domains x 2 splits x (live, spoof) x 2 videos x 2 frames of random crops."""
    rng = np.random.default_rng(0)
    entries = []
    for domain in ("O", "C", "M"):
        for split in ("train", "test"):
            for label in (1, 0):
                for v in range(2):
                    vid = f"{domain}:{split}/{label}/{v}"
                    for frame in (6, 10):
                        rel = f"crops/{domain}/{split}/{label}_{v}_{frame}.{fmt}"
                        (root / rel).parent.mkdir(parents=True, exist_ok=True)
                        img = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
                        Image.fromarray(img).save(root / rel)
                        attack = 0 if label else 1 + v
                        entries.append(
                            ManifestEntry(rel, label, attack, domain, "s", split, vid, frame)
                        )
    write_manifest(root / "manifest.jsonl", entries)
    return entries


def test_pack_round_trip_bytes_equal(tmp_path: Path) -> None:
    entries = make_crops(tmp_path)
    counts = pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    assert counts == {"train": 24, "test": 24}
    for split in ("train", "test"):
        arr = np.load(tmp_path / "store" / f"{split}.npy", mmap_mode="r")
        rows = [e for e in entries if e.split == split]  # manifest order within a split
        assert arr.shape == (len(rows), SIZE, SIZE, 3) and arr.dtype == np.uint8
        for i, e in enumerate(rows):
            assert np.array_equal(arr[i], np.asarray(Image.open(tmp_path / e.path)))
    ds = StoreDataset(tmp_path / "store")
    files = ImageFolderDataset(tmp_path / "manifest.jsonl")
    assert len(ds) == len(files) == 48
    by_key = {(e.video_id, e.frame): j for j, e in enumerate(files.entries)}
    for i in range(len(ds)):
        a = ds[i]
        assert isinstance(a, FASSample)
        assert a.image.dtype == torch.float32 and a.image.shape == (3, SIZE, SIZE)
        j = by_key[(a.video_id, ds.entries[i].frame)]
        b = files[j]
        assert torch.equal(a.image, b.image)
        assert (a.label, a.attack, a.domain) == (b.label, b.attack, b.domain)
        raw = np.asarray(Image.open(tmp_path / files.entries[j].path)).copy()
        assert torch.equal(a.image, torch.from_numpy(raw).permute(2, 0, 1).float() / 255)
    assert sorted(e.video_id for e in ds.entries) == sorted(e.video_id for e in entries)


def test_store_paths_resolve_from_store(tmp_path: Path) -> None:
    make_crops(tmp_path)
    pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    ds = StoreDataset(tmp_path / "store", splits=["test"])
    for e in ds.entries:
        assert (tmp_path / "store" / e.path).is_file()


def test_store_selection_and_domains(tmp_path: Path) -> None:
    make_crops(tmp_path)
    pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    ds = StoreDataset(tmp_path / "store", splits=["train"], domains=["M", "O"])
    assert len(ds) == 16
    assert set(ds.domains.tolist()) == {0, 1}
    assert all((e.domain == "M") == (d == 0) for e, d in zip(ds.entries, ds.domains, strict=True))
    one = StoreDataset(tmp_path / "store", frames_per_video=1)
    assert len(one) == 24 and {e.frame for e in one.entries} == {6}
    spoof1 = StoreDataset(tmp_path / "store", attacks=[1])
    assert set(spoof1.attacks.tolist()) == {1} and len(spoof1) == 12
    with pytest.raises(ValueError, match="no crops left"):
        StoreDataset(tmp_path / "store", domains=["X"])
    with pytest.raises(FileNotFoundError, match="dev"):
        StoreDataset(tmp_path / "store", splits=["dev"])


def test_store_for_protocol_and_sampler(tmp_path: Path) -> None:
    make_crops(tmp_path)
    pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    proto = leave_one_out("O&C->M")
    src = StoreDataset(tmp_path / "store", **proto.selection("source").as_kwargs())
    tgt = StoreDataset(tmp_path / "store", **proto.selection("target").as_kwargs())
    assert {e.domain for e in src.entries} == {"O", "C"} and len(src) == 32
    assert {e.domain for e in tgt.entries} == {"M"} and set(tgt.domains.tolist()) == {2}
    sampler = DomainBalancedBatchSampler.from_dataset(src, batch_size=8, seed=1)
    loader = DataLoader(src, batch_sampler=sampler, num_workers=0)
    batch = next(iter(loader))
    assert batch.image.shape == (8, 3, SIZE, SIZE)
    assert batch.label.tolist() == [1, 1, 0, 0, 1, 1, 0, 0]
    assert batch.domain.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_store_pickles_without_arrays(tmp_path: Path) -> None:
    make_crops(tmp_path)
    pack_store(tmp_path / "manifest.jsonl", tmp_path / "store", progress=False)
    ds = StoreDataset(tmp_path / "store")
    _ = ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert len(pickle.dumps(ds)) < 48 * SIZE * SIZE * 3  # memmaps are not copied
    assert torch.equal(clone[5].image, ds[5].image)


def test_pack_sizes(tmp_path: Path) -> None:
    make_crops(tmp_path)
    odd = tmp_path / "crops/O/train/odd.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(odd)
    extra = ManifestEntry("crops/O/train/odd.png", 1, 0, "O", "s", "train", "O:odd", 0)
    entries = [*ImageFolderDataset(tmp_path / "manifest.jsonl").entries, extra]
    write_manifest(tmp_path / "m2.jsonl", entries)
    with pytest.raises(ValueError, match="size"):
        pack_store(tmp_path / "m2.jsonl", tmp_path / "s2", progress=False)
    assert list((tmp_path / "s2").iterdir()) == []  # no half-written array is left
    counts = pack_store(tmp_path / "m2.jsonl", tmp_path / "s3", size=12, progress=False)
    assert counts["train"] == 25
    assert np.load(tmp_path / "s3" / "train.npy").shape == (25, 12, 12, 3)


def test_pack_cli_and_partial_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_crops(tmp_path)
    args = ["--manifest", str(tmp_path / "manifest.jsonl"), "--out", str(tmp_path / "st")]
    assert pack_main([*args, "--split", "train", "--quiet"]) == 0
    assert "train: 24" in capsys.readouterr().out
    assert pack_main([*args, "--split", "test", "--quiet"]) == 0
    assert len(StoreDataset(tmp_path / "st")) == 48  # the earlier split is kept
    with pytest.raises(FileNotFoundError, match=r"store\.json"):
        StoreDataset(tmp_path)
    assert pack_main(["--manifest", str(tmp_path / "nope.jsonl"), "--out", "x"]) == 2


def test_image_folder_transform_and_index(tmp_path: Path) -> None:
    make_crops(tmp_path)
    ds = ImageFolderDataset(tmp_path / "manifest.jsonl", transform=lambda x: x.flip(-1))
    plain = ImageFolderDataset(tmp_path / "manifest.jsonl")
    assert torch.equal(ds[3].image, plain[3].image.flip(-1))
    assert ds[3].index == 3
    assert float(plain[0].image.min()) >= 0 and float(plain[0].image.max()) <= 1
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_select_entries_frames_per_video() -> None:
    e = [
        ManifestEntry(f"{i}", 1, 0, "O", "s", "train", "v", frame=f)
        for i, f in enumerate([9, 3, 6, 12])
    ]
    # frames in order 3, 6, 9, 12: two spread evenly are 3 and 9 (positions 1 and 0)
    assert select_entries(e, frames_per_video=2) == [0, 1]
    assert select_entries(e, frames_per_video=1) == [1]
    with pytest.raises(ValueError):
        select_entries(e, frames_per_video=0)


def test_csv_manifest(tmp_path: Path) -> None:
    entries = make_crops(tmp_path)
    lines = ["path,label,attack,domain,subject,split,video_id,box"]
    lines += [
        f"{e.path},{e.label},{e.attack},{e.domain},{e.subject},{e.split},{e.video_id},"
        + ("1 2 3 4" if i == 0 else "")
        for i, e in enumerate(entries)
    ]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    read = read_manifest(tmp_path / "m.csv")
    assert [(e.path, e.label, e.attack, e.video_id) for e in read] == [
        (e.path, e.label, e.attack, e.video_id) for e in entries
    ]
    assert read[0].box == (1.0, 2.0, 3.0, 4.0) and read[1].box is None
    assert pack_store(tmp_path / "m.csv", tmp_path / "s", progress=False) == {
        "train": 24,
        "test": 24,
    }
    (tmp_path / "bad.csv").write_text("path,label,domain\na.png,x,O\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2"):
        read_manifest(tmp_path / "bad.csv")


def test_pack_several_manifests(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_crops(a)
    make_crops(b)
    args = ["--manifest", str(a / "manifest.jsonl"), "--manifest", str(b / "manifest.jsonl")]
    assert pack_main([*args, "--out", str(tmp_path / "st"), "--quiet"]) == 0
    ds = StoreDataset(tmp_path / "st")
    assert len(ds) == 96
    assert all((tmp_path / "st" / e.path).is_file() for e in ds.entries)
    with pytest.raises(ValueError, match="listed twice"):
        pack_store([a / "manifest.jsonl", a / "manifest.jsonl"], tmp_path / "x", progress=False)
    assert not (tmp_path / "x" / "train.npy").exists()
