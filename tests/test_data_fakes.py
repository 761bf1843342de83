"""Builders of tiny fake dataset trees and videos, shared by the data tests (no tests here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_video(
    path: Path,
    n: int = 12,
    width: int = 64,
    height: int = 48,
    rotation: int = 0,
) -> Path:
    """A tiny mpeg4 video whose frame i is gray level 10*i mod 256 with a white 8-px left band."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = 2_000_000
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(n):
            img = np.full((height, width, 3), (10 * i) % 256, np.uint8)
            img[:, :8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def oulu_tree(root: Path) -> dict[str, list[str]]:
    """OULU-NPU: 2 users per split, files 1..5, phone 1, session 1; eye files."""
    users = {"train": ["01", "02"], "dev": ["21", "22"], "test": ["36", "37"]}
    folders = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}
    names: dict[str, list[str]] = {}
    for split, us in users.items():
        for u in us:
            for f in range(1, 6):
                stem = f"1_1_{u}_{f}"
                touch(root / folders[split] / f"{stem}.avi")
                touch(root / folders[split] / f"{stem}.txt", "0,20,20,40,20\n1,0,0,0,0\n")
                names.setdefault(split, []).append(stem)
    touch(root / folders["train"] / "notes.avi")  # unexpected name: skipped
    proto = root / "Protocols" / "Protocol_1"
    touch(proto / "Train.txt", "+1,1_1_01_1\n-1,1_1_01_2\n-1,1_1_02_4\n")
    touch(proto / "Dev.txt", "+1,1_1_21_1\n")
    touch(proto / "Test.txt", "+1,1_1_36_1\n-1,1_1_37_5\n")
    touch(root / "Protocols" / "Protocol_3" / "Train_2.txt", "+1,1_1_02_1\n")
    return names


def casia_tree(root: Path) -> None:
    """CASIA-FASD: train subjects 1, 2 and test subject 1, each with the 12 videos."""
    stems = [str(i) for i in range(1, 9)] + [f"HR_{i}" for i in range(1, 5)]
    for split, subjects in (("train_release", ["1", "2"]), ("test_release", ["1"])):
        for s in subjects:
            for stem in stems:
                touch(root / split / s / f"{stem}.avi")
    touch(root / "train_release" / "1" / "extra.avi")  # skipped


def replay_tree(root: Path) -> None:
    """Replay-Attack: per split one client with 2 real and 4 attack videos, face files."""
    clients = {"train": "001", "devel": "003", "test": "005"}
    for split, c in clients.items():
        rels = [
            f"{split}/real/client{c}_session01_webcam_authenticate_controlled_1.mov",
            f"{split}/real/client{c}_session01_webcam_authenticate_adverse_2.mov",
            f"{split}/attack/fixed/attack_print_client{c}_session01_highdef_photo_adverse.mov",
            f"{split}/attack/fixed/attack_mobile_client{c}_session01_mobile_video_adverse.mov",
            f"{split}/attack/hand/attack_highdef_client{c}_session01_highdef_photo_controlled.mov",
            f"{split}/attack/hand/attack_highdef_client{c}_session01_highdef_video_controlled.mov",
        ]
        for rel in rels:
            touch(root / rel)
            touch((root / "face-locations" / rel).with_suffix(".face"), "0 10 10 20 20\n")


def msu_tree(root: Path) -> None:
    """MSU-MFSD: clients 2 (train), 3 (test) and 9 (in no list)."""
    for c in (2, 3, 9):
        for dev, ext in (("android", "mp4"), ("laptop", "mov")):
            touch(root / "scene01/real" / f"real_client{c:03d}_{dev}_SD_scene01.{ext}")
            for kind in ("ipad_video", "iphone_video", "printed_photo"):
                stem = f"attack_client{c:03d}_{dev}_SD_{kind}_scene01"
                touch(root / "scene01/attack" / f"{stem}.{ext}")
                touch(root / "scene01/attack" / f"{stem}.face", "0, 5, 5, 30, 30\n")
    touch(root / "train_sub_list.txt", "02\n")
    touch(root / "test_sub_list.txt", "03\n")


def celeba_tree(root: Path) -> dict[str, list[int]]:
    """CelebA-Spoof: a few labelled images, one labelled key without an image."""

    def vec(spoof_type: int, live: bool) -> list[int]:
        v = [0] * 44
        v[40], v[43] = spoof_type, 0 if live else 1
        return v

    train = {
        "Data/train/10/live/000001.jpg": vec(0, True),
        "Data/train/10/spoof/000002.png": vec(10, False),
        "Data/train/11/spoof/000003.png": vec(2, False),
        "Data/train/11/spoof/000099.png": vec(1, False),  # no image
    }
    test = {"Data/test/20/live/000004.jpg": vec(0, True)}
    from PIL import Image

    for key in [*train, *test]:
        if key.endswith("000099.png"):
            continue
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((112, 112, 3), 128, np.uint8)).save(path)
        touch(path.with_name(f"{path.stem}_BB.txt"), "56 56 112 112 0.99\n")
    meta = root / "metas" / "intra_test"
    touch(meta / "train_label.json", json.dumps(train))
    touch(meta / "test_label.json", json.dumps(test))
    return {"train": [len(train)], "test": [len(test)]}
