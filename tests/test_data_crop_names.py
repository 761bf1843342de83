"""Crop folders are injective in the video id, and a source listed with two contradicting
labels is refused before anything is written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from disentangle_fas._io import leftover_temporaries
from disentangle_fas.data.manifest import read_manifest
from disentangle_fas.data.pipeline import PreprocessConfig, crop_dir, shard_path
from disentangle_fas.data.preprocess import check_consistent_labels, preprocess_records
from disentangle_fas.data.records import Record

CFG = PreprocessConfig(frames=1, size=32, crop_scale=1.0)

#: Names that the readable part alone would merge: non-ASCII, spaces vs underscores, case.
CLASHING = [
    ("张三", "李四"),
    ("a b", "a_b"),
    ("Face", "face"),
    ("x..y", "x__y"),
    ("é", "e\u0301"),  # composed vs decomposed: different ids
]


def _image(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 40, 3), value, np.uint8)).save(path)
    return path


def _record(path: Path, stem: str, label: int, **kw: object) -> Record:
    fields = {
        "path": path,
        "label": label,
        "attack": 0 if label else 1,
        "domain": "X",
        "subject": "s1",
        "split": "train",
        "video_id": f"X:{stem}",
        "box_source": "full",
    }
    fields.update(kw)
    return Record(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b"), CLASHING)
def test_crop_folders_differ_for_names_the_readable_part_merges(a: str, b: str) -> None:
    out = Path("/out")
    da, db = crop_dir(out, f"X:dir/{a}"), crop_dir(out, f"X:dir/{b}")
    assert da != db and str(da).lower() != str(db).lower()  # case-insensitive disks too
    assert shard_path(out, f"X:dir/{a}") != shard_path(out, f"X:dir/{b}")
    assert da.parent == out / "crops" / "X" / "dir"  # the path stays readable


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=8, unique=True))
def test_crop_folders_are_injective(names: list[str]) -> None:
    ids = [f"X:{n}" for n in names]
    folders = {str(crop_dir(Path("/o"), i)).lower() for i in ids}
    assert len(folders) == len(ids)


def test_non_utf8_names_hash_instead_of_crashing() -> None:
    name = b"caf\xe9".decode("utf-8", "surrogateescape")  # a latin-1 file name
    folder = crop_dir(Path("/o"), f"X:{name}")
    assert folder.name.isascii() and folder.name.startswith("caf-")


def test_two_sources_with_merging_names_keep_their_own_crops_and_labels(tmp_path: Path) -> None:
    live = _record(_image(tmp_path / "src" / "张三.png", 200), "张三", 1)
    spoof = _record(_image(tmp_path / "src" / "李四.png", 30), "李四", 0)
    out = tmp_path / "out"
    report = preprocess_records([live, spoof], out, CFG, progress=False)
    assert report.count("no_face") == 0
    entries = read_manifest(out / "manifest.jsonl")
    assert len(entries) == 2 and len({e.path for e in entries}) == 2
    by_label = {e.label: np.asarray(Image.open(out / e.path)).mean() for e in entries}
    assert by_label[1] > 150 > 50 > by_label[0]  # each crop is its own source's pixels


def test_a_source_listed_with_contradicting_labels_is_refused(tmp_path: Path) -> None:
    path = _image(tmp_path / "src" / "one.png", 100)
    live = _record(path, "one", 1)
    spoof = dataclasses.replace(live, label=0, attack=2, video_id="X:one-again")
    with pytest.raises(ValueError, match="contradicting labels") as info:
        preprocess_records([live, spoof], tmp_path / "out", CFG, progress=False)
    text = str(info.value)
    assert str(path) in text and "X:one" in text and "X:one-again" in text
    assert "label: 1 vs 0" in text
    assert not (tmp_path / "out").exists()  # refused before anything is written
    check_consistent_labels([live, dataclasses.replace(live, video_id="X:same-labels")])


def test_a_rerun_removes_a_killed_attempts_temporaries(tmp_path: Path) -> None:
    record = _record(_image(tmp_path / "src" / "a.png", 100), "a", 1)
    out = tmp_path / "out"
    folder = crop_dir(out, record.video_id)
    stale = folder / ".000000.png.abc123.tmp"
    stale.mkdir(parents=True)
    (stale / ".tmpXYZ").write_bytes(b"half")
    shard = shard_path(out, record.video_id)
    shard_stale = shard.parent / f".{shard.name}.def456.tmp"
    shard_stale.mkdir(parents=True)
    preprocess_records([record], out, CFG, progress=False)
    assert leftover_temporaries(folder) == [] and leftover_temporaries(shard.parent) == []
    assert sorted(p.name for p in folder.iterdir()) == ["000000.png"]
