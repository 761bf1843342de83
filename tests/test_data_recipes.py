"""Bob face-location files, named recipes and sharded preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import disentangle_fas.data.preprocess_cli as prep_cli
from disentangle_fas.data import CasiaFASD, ReplayAttack
from disentangle_fas.data.annotations import carry_forward
from disentangle_fas.data.manifest import read_manifest
from disentangle_fas.data.preprocess import parse_shard, select_shard
from disentangle_fas.data.preprocess_cli import main
from disentangle_fas.data.recipes import RECIPES, get_recipe
from disentangle_fas.data.records import Record
from disentangle_fas.data.store import main as pack_main
from disentangle_fas.data.store import read_store_meta
from disentangle_fas.data.video import sample_frame_indices
from disentangle_fas.types import Box
from test_data_fakes import touch, write_video

N = 16


@given(st.lists(st.one_of(st.none(), st.tuples(*[st.floats(0, 100)] * 4)), max_size=30))
def test_carry_forward_matches_a_loop(values: list[Box | None]) -> None:
    boxes = {2 * i: v for i, v in enumerate(values)}
    out = carry_forward(boxes)
    assert list(out) == sorted(boxes)
    for frame in boxes:
        earlier = [boxes[f] for f in sorted(boxes) if f <= frame and boxes[f] is not None]
        assert out[frame] == (earlier[-1] if earlier else None)


def casia_with_faces(root: Path) -> Path:
    """Two CASIA train videos and Bob face files: frame 7 has no face (all zeros)."""
    faces = root / "bob"
    for stem in ("1", "3"):
        write_video(root / "casia/train_release/1" / f"{stem}.avi", n=N)
        lines = "".join(f"{i} 0 0 0 0\n" if i == 7 else f"{i} {10 + i} 8 24 30\n" for i in range(N))
        touch(faces / "train_release/1" / f"{stem}.face", lines)
    (root / "casia/test_release").mkdir(parents=True)
    return faces


class NoDetector:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("the detector must not be built")


def test_casia_boxes_from_face_locations_without_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    faces = casia_with_faces(tmp_path)
    monkeypatch.setattr(prep_cli, "MTCNNFaceDetector", NoDetector)
    records = CasiaFASD(tmp_path / "casia", face_locations=faces).records("train")
    assert {r.box_source for r in records} == {"face_locations"}
    assert records[0].annotation == faces / "train_release/1/1.face"
    out = tmp_path / "out"
    argv = ["--dataset", "casia", "--root", str(tmp_path / "casia"), "--out", str(out)]
    argv += ["--face-locations", str(faces), "--sampling", "all", "--size", "32", "--quiet"]
    assert main(argv) == 0
    entries = read_manifest(out / "manifest.jsonl")
    assert len(entries) == 2 * N and {e.box_source for e in entries} == {"face_locations"}
    by_frame = {e.frame: e.box for e in entries if e.video_id.endswith("/1")}
    assert by_frame[3] == pytest.approx((13.0, 8.0, 37.0, 38.0))  # x y w h -> x0 y0 x1 y1
    assert by_frame[7] == by_frame[6]  # all zeros: the last valid box carried forward


def test_face_locations_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "train_release").mkdir()
    with pytest.raises(FileNotFoundError, match="face-location folder"):
        CasiaFASD(tmp_path, face_locations=tmp_path / "absent")
    argv = ["--dataset", "msu", "--root", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main([*argv, "--face-locations", str(tmp_path)]) == 2
    assert "casia and replay" in capsys.readouterr().err


def test_replay_face_locations_folder(tmp_path: Path) -> None:
    rel = "train/real/client001_session01_webcam_authenticate_controlled_1"
    touch(tmp_path / "r" / f"{rel}.mov")
    for split in ("train", "devel", "test"):
        (tmp_path / "r" / split / "real").mkdir(parents=True, exist_ok=True)
        (tmp_path / "r" / split / "attack").mkdir(parents=True, exist_ok=True)
    (tmp_path / "bob").mkdir()
    default = ReplayAttack(tmp_path / "r").records("train")[0]
    other = ReplayAttack(tmp_path / "r", face_locations=tmp_path / "bob").records("train")[0]
    assert (default.box_source, other.box_source) == ("face_file", "face_locations")
    assert default.annotation == tmp_path / "r/face-locations" / f"{rel}.face"
    assert other.annotation == tmp_path / "bob" / f"{rel}.face"


def test_recipes() -> None:
    ssdg = get_recipe("ssdg")
    assert (ssdg.config.frames_for("train"), ssdg.config.frames_for("test")) == (1, 2)
    assert ssdg.config.size == 256 and ssdg.splits == ("train", "test")
    assert get_recipe("flip").config.size == 224
    with pytest.raises(ValueError, match="allow-split-leak"):
        get_recipe("safas")
    safas = get_recipe("safas", allow_split_leak=True)
    assert safas.splits is None and safas.config.crop_scale == 1.0
    n = 23
    assert sample_frame_indices(n, 5, safas.config.sampling, offset=0) == [0, 5, 10, 15, 20]
    assert sample_frame_indices(n, 2, "literature", offset=6) == [6, 6 + n // 2]
    for recipe in RECIPES.values():
        assert recipe.name in recipe.describe()
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("nope")


class BoxDetector:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __call__(self, image: np.ndarray) -> Box | None:
        return (16.0, 8.0, 48.0, 40.0)


def replay_small(root: Path) -> None:
    for split, c in (("train", "001"), ("devel", "002"), ("test", "003")):
        name = f"client{c}_session01_webcam_authenticate_controlled_1"
        write_video(root / split / "real" / f"{name}.mov", n=N)
        touch(root / "face-locations" / split / "real" / f"{name}.face", "0 0 0 0 0\n")
        (root / split / "attack").mkdir(parents=True)


def test_ssdg_recipe_frames_splits_and_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    replay_small(tmp_path / "r")
    monkeypatch.setattr(prep_cli, "MTCNNFaceDetector", BoxDetector)
    out = tmp_path / "out"
    argv = ["--dataset", "replay", "--root", str(tmp_path / "r"), "--out", str(out), "--quiet"]
    assert main([*argv, "--recipe", "ssdg", "--size", "32"]) == 0
    assert "differs from the official release" in capsys.readouterr().err
    entries = read_manifest(out / "manifest.jsonl")
    frames = {(e.split, e.frame) for e in entries}
    assert frames == {("train", 6), ("test", 6), ("test", 6 + N // 2)}  # no dev split
    assert {e.box_source for e in entries} == {"detector"}
    assert main([*argv, "--recipe", "safas"]) == 2
    assert "allow-split-leak" in capsys.readouterr().err


def _records(n: int) -> list[Record]:
    return [Record(Path(f"/x/{i}.avi"), 1, 0, "C", "s", "train", f"C:train/{i}") for i in range(n)]


@given(st.integers(1, 60), st.integers(1, 7))
def test_shards_partition_the_records(n: int, shards: int) -> None:
    records = _records(n)
    parts = [select_shard(records, k, shards) for k in range(shards)]
    ids = [r.video_id for part in parts for r in part]
    assert sorted(ids) == sorted(r.video_id for r in records)
    assert select_shard(records[::-1], 0, shards) == select_shard(records, 0, shards)[::-1]


@pytest.mark.parametrize("bad", ["3", "2/2", "-1/4", "a/b", "1/0"])
def test_parse_shard_errors(bad: str) -> None:
    with pytest.raises(ValueError, match="K/N"):
        parse_shard(bad)


def test_sharded_preprocess_then_pack_of_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "r"
    for split, clients in (("train", ("001", "002", "004")), ("devel", ()), ("test", ("003",))):
        (root / split / "attack").mkdir(parents=True)
        (root / split / "real").mkdir(parents=True, exist_ok=True)
        for c in clients:
            name = f"client{c}_session01_webcam_authenticate_controlled_1"
            write_video(root / split / "real" / f"{name}.mov", n=N)
            touch(
                root / "face-locations" / split / "real" / f"{name}.face",
                "".join(f"{i} 16 8 32 32\n" for i in range(N)),
            )
    out = tmp_path / "out"
    base = ["--dataset", "replay", "--root", str(root), "--out", str(out), "--quiet"]
    base += ["--frames", "2", "--size", "32", "--no-check"]
    assert main([*base, "--shard", "0/2"]) == 0
    store = tmp_path / "store"
    assert pack_main(["--manifest", str(out), "--out", str(store), "--quiet"]) == 2  # 1/2 missing
    assert main([*base, "--shard", "1/2"]) == 0
    shards = sorted(p.name for p in out.glob("manifest-*"))
    assert shards == ["manifest-0-of-2.jsonl", "manifest-1-of-2.jsonl"]
    assert not (out / "manifest.jsonl").exists()
    assert pack_main(["--manifest", str(out), "--out", str(store), "--quiet"]) == 0
    assert read_store_meta(store)["splits"] == {"train": 6, "test": 2}


def test_interrupted_pack_resumes_from_the_last_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.data.store as store
    from test_data_store import make_crops

    make_crops(tmp_path)  # 24 train rows
    store.pack_store(
        tmp_path / "manifest.jsonl", tmp_path / "clean", splits=["train"], progress=False
    )
    monkeypatch.setattr(store, "_CHUNK", 5)
    real_load = store._load
    calls: list[Path] = []

    def flaky(path: Path, size: tuple[int, int] | None) -> np.ndarray:
        calls.append(path)
        if len(calls) == 13:
            raise RuntimeError("killed")
        return real_load(path, size)

    monkeypatch.setattr(store, "_load", flaky)
    out = tmp_path / "store"
    with pytest.raises(RuntimeError, match="killed"):
        store.pack_store(
            tmp_path / "manifest.jsonl", out, splits=["train"], workers=1, progress=False
        )
    assert (out / ".train.progress.json").is_file() and not (out / "train.npy").exists()
    calls.clear()
    monkeypatch.setattr(store, "_load", lambda p, size: (calls.append(p), real_load(p, size))[1])
    counts = store.pack_store(
        tmp_path / "manifest.jsonl", out, splits=["train"], workers=1, progress=False
    )
    assert counts == {"train": 24}
    assert len(calls) == 24 - 10 + 1  # the first image (shape probe) plus rows 10..23
    np.testing.assert_array_equal(np.load(out / "train.npy"), np.load(tmp_path / "clean/train.npy"))
    assert not (out / ".train.progress.json").exists()
