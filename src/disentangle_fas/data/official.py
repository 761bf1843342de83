"""The official sizes and file names of the five benchmarks, for ``check-data``.

Sources: OULU-NPU (Boulkenafet et al., FG 2017: 55 users, 6 phones, 3 sessions, 5 files,
4,950 videos; users 1-20 train, 21-35 dev, 36-55 test; the four protocols of its Table 2);
CASIA-FASD (Zhang et al., ICB 2012: 50 subjects x 12 videos, 20 train / 30 test);
Replay-Attack (Chingovska et al., BIOSIG 2012: 15/15/20 clients, real 60/60/80, attack
300/300/400, 100 enrolment videos); MSU-MFSD (Wen et al., TIFS 2015: 35 clients x 8
videos, 15 train / 20 test); CelebA-Spoof (Zhang et al., ECCV 2020: 494,405 train and
67,170 test images in ``metas/intra_test``).
"""

from __future__ import annotations

__all__ = [
    "CASIA_STEMS",
    "EXPECTED",
    "OULU_PROTOCOL_COUNTS",
    "OULU_USERS",
    "casia_names",
    "msu_names",
    "oulu_names",
]

#: OULU-NPU users per split.
OULU_USERS: dict[str, range] = {"train": range(1, 21), "dev": range(21, 36), "test": range(36, 56)}
_OULU_FOLDERS = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}

#: CASIA-FASD file stems of one subject folder.
CASIA_STEMS: tuple[str, ...] = (*(str(i) for i in range(1, 9)), "HR_1", "HR_2", "HR_3", "HR_4")
_CASIA_SUBJECTS = {"train": ("train_release", 20), "test": ("test_release", 30)}


def _per_attack(real: int, attacks: dict[int, int]) -> dict[str, int]:
    out = {"videos": real + sum(attacks.values()), "real": real, "attack": sum(attacks.values())}
    out.update({f"attack {k}": v for k, v in attacks.items()})
    return out


def _oulu(users: int) -> dict[str, int]:
    per = users * 6 * 3
    return _per_attack(per, dict.fromkeys(range(1, 5), per))


#: dataset -> split -> group -> official count. Groups: ``videos`` (or ``images``),
#: ``real``, ``attack`` and ``attack K`` per attack id of the adapter's ``ATTACKS`` table.
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "oulu": {"train": _oulu(20), "dev": _oulu(15), "test": _oulu(20)},
    "casia": {
        "train": _per_attack(60, {1: 60, 2: 60, 3: 60}),
        "test": _per_attack(90, {1: 90, 2: 90, 3: 90}),
    },
    "replay": {
        "train": _per_attack(60, dict.fromkeys(range(1, 6), 60)),
        "dev": _per_attack(60, dict.fromkeys(range(1, 6), 60)),
        "test": _per_attack(80, dict.fromkeys(range(1, 6), 80)),
    },
    "msu": {
        "train": _per_attack(30, {1: 30, 2: 30, 3: 30}),
        "test": _per_attack(40, {1: 40, 2: 40, 3: 40}),
    },
    "celeba-spoof": {"train": {"images": 494_405}, "test": {"images": 67_170}},
}

#: Replay-Attack enrolment videos (``enroll/``), not used by FAS protocols.
REPLAY_ENROLMENT = 100

#: OULU-NPU protocol -> split -> (real, attack) lines of each protocol file.
OULU_PROTOCOL_COUNTS: dict[int, dict[str, tuple[int, int]]] = {
    1: {"train": (240, 960), "dev": (180, 720), "test": (120, 480)},
    2: {"train": (360, 720), "dev": (270, 540), "test": (360, 720)},
    3: {"train": (300, 1200), "dev": (225, 900), "test": (60, 240)},
    4: {"train": (200, 400), "dev": (150, 300), "test": (20, 40)},
}


def oulu_names(split: str) -> set[str]:
    """Relative paths of every OULU-NPU video of a split (``Train_files/1_1_01_1.avi``)."""
    folder = _OULU_FOLDERS[split]
    return {
        f"{folder}/{p}_{s}_{u:02d}_{f}.avi"
        for p in range(1, 7)
        for s in range(1, 4)
        for u in OULU_USERS[split]
        for f in range(1, 6)
    }


def casia_names(split: str) -> set[str]:
    """Relative paths of every CASIA-FASD video of a split (``train_release/1/HR_1.avi``)."""
    folder, subjects = _CASIA_SUBJECTS[split]
    return {f"{folder}/{s}/{stem}.avi" for s in range(1, subjects + 1) for stem in CASIA_STEMS}


def msu_names(clients: set[int]) -> set[str]:
    """Relative paths of the eight MSU-MFSD videos of each client."""
    out: set[str] = set()
    for c in clients:
        for device, ext in (("android", "mp4"), ("laptop", "mov")):
            out.add(f"scene01/real/real_client{c:03d}_{device}_SD_scene01.{ext}")
            for kind in ("printed_photo", "iphone_video", "ipad_video"):
                out.add(f"scene01/attack/attack_client{c:03d}_{device}_SD_{kind}_scene01.{ext}")
    return out
