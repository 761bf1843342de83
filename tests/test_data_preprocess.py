from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import disentangle_fas.data.preprocess as prep
from disentangle_fas.data import CasiaFASD, CelebASpoof, MsuMfsd, OuluNPU, ReplayAttack
from disentangle_fas.data.manifest import read_manifest
from disentangle_fas.data.pipeline import PreprocessConfig
from disentangle_fas.data.preprocess import preprocess_records
from disentangle_fas.data.preprocess_cli import main
from disentangle_fas.types import Box
from test_data_fakes import celeba_tree, touch, write_video

CFG = PreprocessConfig(frames=3, size=32, crop_scale=1.0)
N_FRAMES = 12  # literature rule, k=3: frames 6, 10, 11


class FakeDetector:
    """Always finds the same face (picklable: module level)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image: np.ndarray) -> Box | None:
        self.calls += 1
        return (16.0, 8.0, 48.0, 40.0)


def face_lines(n: int, skip: int | None = None) -> str:
    return "".join(f"{i} 0 0 0 0\n" if i == skip else f"{i} 16 8 32 32\n" for i in range(n))


def replay_videos(root: Path) -> None:
    """Train split: 2 good real videos (one without a face at frame 10), 1 good attack,
    1 corrupt attack, 1 attack without its face file."""
    real = root / "train/real"
    attack = root / "train/attack/fixed"
    faces = root / "face-locations/train"
    for k, skip in ((1, None), (2, 10)):
        name = f"client001_session01_webcam_authenticate_controlled_{k}"
        write_video(real / f"{name}.mov", n=N_FRAMES)
        touch(faces / "real" / f"{name}.face", face_lines(N_FRAMES, skip))
    good = "attack_print_client001_session01_highdef_photo_adverse"
    write_video(attack / f"{good}.mov", n=N_FRAMES)
    touch(faces / "attack/fixed" / f"{good}.face", face_lines(N_FRAMES))
    bad = "attack_mobile_client001_session01_mobile_photo_adverse"
    (attack / f"{bad}.mov").write_bytes(b"garbage" * 100)
    touch(faces / "attack/fixed" / f"{bad}.face", face_lines(N_FRAMES))
    noface = "attack_highdef_client001_session01_highdef_video_adverse"
    write_video(attack / f"{noface}.mov", n=N_FRAMES)


@pytest.fixture()
def replay_root(tmp_path: Path) -> Path:
    root = tmp_path / "replay"
    replay_videos(root)
    return root


def test_replay_end_to_end(replay_root: Path, tmp_path: Path) -> None:
    records = ReplayAttack(replay_root).records("train")
    out = tmp_path / "out"
    report = preprocess_records(records, out, CFG, progress=False)
    assert (report.videos, report.processed, report.failed) == (5, 3, 2)
    entries = read_manifest(out / "manifest.jsonl")
    assert len(entries) == 3 * 3 - 1 == report.crops  # one frame without a face
    by_video: dict[str, list[int]] = {}
    for e in entries:
        by_video.setdefault(e.video_id, []).append(e.frame)
        img = np.asarray(Image.open(out / e.path))
        assert img.shape == (32, 32, 3)
        assert abs(float(img.mean()) - 10 * e.frame) < 5  # the right frame, face region only
        assert e.box == (16.0, 8.0, 48.0, 40.0) and e.box_source == "face_file"
        assert e.split == "train" and e.domain == "I" and e.subject == "001"
    assert sorted(map(sorted, by_video.values())) == [[6, 10, 11], [6, 10, 11], [6, 11]]
    data = json.loads((out / "report.json").read_text())
    assert [p["path"] for p in data["problems"]["unreadable"]] == [
        str(r.path) for r in records if "mobile_photo" in r.path.name
    ]
    missing = data["problems"]["missing_annotation"]
    assert len(missing) == 1 and missing[0]["path"].endswith("highdef_video_adverse.face")
    assert data["problems"]["no_face"][0]["frame"] == 10
    assert data["problem_counts"] == {"missing_annotation": 1, "no_face": 1, "unreadable": 1}


def test_resume_skips_finished_videos(replay_root: Path, tmp_path: Path) -> None:
    records = ReplayAttack(replay_root).records("train")
    out = tmp_path / "out"
    preprocess_records(records, out, CFG, progress=False)
    first = (out / "manifest.jsonl").read_text()
    victim = read_manifest(out / "manifest.jsonl")[0]
    (out / victim.path).unlink()  # a lost output
    (out / "manifest.jsonl").unlink()
    report = preprocess_records(records, out, CFG, progress=False)
    assert report.skipped_done == 2  # the untouched finished videos
    assert report.processed == 1  # the one that lost a crop
    assert report.failed == 2  # failures are retried and still fail
    assert (out / "manifest.jsonl").read_text() == first
    # new settings: everything is redone
    report = preprocess_records(records, out, PreprocessConfig(frames=2, size=32), progress=False)
    assert report.skipped_done == 0 and report.processed == 3


def test_resume_after_interruption(
    replay_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [r for r in ReplayAttack(replay_root).records("train") if r.label == 1]
    out = tmp_path / "out"
    real = prep.process_record
    calls = {"n": 0}

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the run dies while processing the second video
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prep, "process_record", flaky)
    with pytest.raises(KeyboardInterrupt):
        preprocess_records(records, out, CFG, progress=False)
    assert not (out / "manifest.jsonl").exists()
    monkeypatch.setattr(prep, "process_record", real)
    report = preprocess_records(records, out, CFG, progress=False)
    assert (report.skipped_done, report.processed, report.crops) == (1, 1, 5)


def casia_root(root: Path) -> Path:
    for stem in ("1", "3"):
        write_video(root / "train_release" / "1" / f"{stem}.avi", n=N_FRAMES)
    (root / "test_release").mkdir(parents=True)
    return root


def test_casia_with_injected_detector(tmp_path: Path) -> None:
    records = CasiaFASD(casia_root(tmp_path / "casia")).records()
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="detector"):
        preprocess_records(records, out, CFG, progress=False)
    report = preprocess_records(records, out, CFG, detector_factory=FakeDetector, progress=False)
    entries = read_manifest(out / "manifest.jsonl")
    assert report.processed == 2 and len(entries) == 6
    assert {e.box_source for e in entries} == {"detector"}
    assert sorted((e.label, e.attack) for e in entries)[::3] == [(0, 1), (1, 0)]
    for e in entries:
        assert abs(float(np.asarray(Image.open(out / e.path)).mean()) - 10 * e.frame) < 5


def test_parallel_workers_match_serial(replay_root: Path, tmp_path: Path) -> None:
    records = ReplayAttack(replay_root).records("train")
    preprocess_records(records, tmp_path / "a", CFG, progress=False)
    report = preprocess_records(records, tmp_path / "b", CFG, workers=2, progress=False)
    assert report.processed == 3 and report.failed == 2
    a = read_manifest(tmp_path / "a" / "manifest.jsonl")
    b = read_manifest(tmp_path / "b" / "manifest.jsonl")
    assert a == b


def test_oulu_eyes(tmp_path: Path) -> None:
    root = tmp_path / "oulu"
    write_video(root / "Train_files" / "1_1_01_1.avi", n=N_FRAMES)
    # eyes 16 px apart -> box side 40 centred at (32, 24 + 4.8)
    touch(root / "Train_files" / "1_1_01_1.txt", "".join(f"{i},24,24,40,24\n" for i in range(12)))
    for name in ("Dev_files", "Test_files"):
        (root / name).mkdir()
    records = OuluNPU(root).records()
    report = preprocess_records(records, tmp_path / "out", CFG, progress=False)
    entries = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert report.crops == 3
    assert entries[0].box == pytest.approx((12.0, 8.8, 52.0, 48.8))
    assert entries[0].box_source == "eyes" and entries[0].label == 1


def test_msu_rotation_is_honoured(tmp_path: Path) -> None:
    root = tmp_path / "msu"
    stem = "real_client002_android_SD_scene01"
    write_video(root / "scene01/real" / f"{stem}.mp4", n=N_FRAMES, rotation=180)
    # box over the stored frame's left part, which holds the white band (x < 8)
    touch(
        root / "scene01/real" / f"{stem}.face", "".join(f"{i}, 0, 0, 24, 24\n" for i in range(12))
    )
    (root / "scene01/attack").mkdir(parents=True)
    touch(root / "train_sub_list.txt", "02\n")
    touch(root / "test_sub_list.txt", "")
    records = MsuMfsd(root).records()
    for honour, white_side in ((True, "right"), (False, "left")):
        cfg = PreprocessConfig(frames=1, size=24, crop_scale=1.0, honour_rotation=honour)
        out = tmp_path / f"out{honour}"
        preprocess_records(records, out, cfg, progress=False)
        (entry,) = read_manifest(out / "manifest.jsonl")
        img = np.asarray(Image.open(out / entry.path)).astype(float)
        left, right = img[:, :4].mean(), img[:, -4:].mean()
        assert (right > 200 and left < 120) if white_side == "right" else (left > 200)


def test_celeba_images(tmp_path: Path) -> None:
    root = tmp_path / "cb"
    celeba_tree(root)
    adapter = CelebASpoof(root)
    records = adapter.records()
    report = preprocess_records(
        records, tmp_path / "out", CFG, progress=False, listing_skipped=adapter.skipped
    )
    entries = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert report.crops == 4 and {e.frame for e in entries} == {0}
    assert entries[0].box == pytest.approx((28.0, 28.0, 84.0, 84.0))  # 112 px image: x 0.5
    assert len(report.listing_skipped) == 1
    assert {e.attack for e in entries} == {0, 2, 10}


def test_cli(replay_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("devel", "test"):
        (replay_root / name / "real").mkdir(parents=True)
        (replay_root / name / "attack").mkdir(parents=True)
    out = tmp_path / "cli"
    argv = ["--dataset", "replay", "--root", str(replay_root), "--out", str(out)]
    argv += ["--frames", "2", "--size", "32", "--quiet", "--format", "jpg"]
    assert main(argv) == 0
    assert "3 processed" in capsys.readouterr().out
    entries = read_manifest(out / "manifest.jsonl")
    assert len(entries) == 6 and all(e.path.endswith(".jpg") for e in entries)
    assert main([*argv, "--strict"]) == 1  # two items failed
    assert main(["--dataset", "oulu", "--root", str(tmp_path), "--out", str(out)]) == 2
    assert "has no Train_files/" in capsys.readouterr().err


class CrashingDetector:
    """Kills its worker process, like a decoder fault would."""

    def __call__(self, image: np.ndarray) -> Box | None:
        import os

        os._exit(3)


@pytest.mark.slow
def test_worker_crash_costs_only_its_item(replay_root: Path, tmp_path: Path) -> None:
    replay = [r for r in ReplayAttack(replay_root).records("train") if r.label == 1]
    casia = CasiaFASD(casia_root(tmp_path / "casia")).records()[:1]  # needs the detector
    out = tmp_path / "out"
    report = preprocess_records(
        [*replay, *casia], out, CFG, detector_factory=CrashingDetector, workers=2, progress=False
    )
    assert (report.processed, report.failed, report.crops) == (2, 1, 5)
    (problem,) = [p for p in report.problems if p.kind == "error"]
    assert problem.video_id == casia[0].video_id and "died" in problem.detail


def test_duplicate_video_ids_are_named_with_both_files(replay_root: Path, tmp_path: Path) -> None:
    import dataclasses

    records = ReplayAttack(replay_root).records("train")[:2]
    clash = [records[0], dataclasses.replace(records[1], video_id=records[0].video_id)]
    with pytest.raises(ValueError, match=r"is shared by .* and .* \(rows 1 and 2\)") as info:
        preprocess_records(clash, tmp_path / "out", CFG, progress=False)
    assert str(records[1].path) in str(info.value) and records[0].video_id in str(info.value)
    assert not (tmp_path / "out").exists()  # refused before anything is written
