"""MSU-MFSD (domain ``"M"``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from disentangle_fas.data.adapters.base import DatasetAdapter, files_with_suffix
from disentangle_fas.data.records import Record

__all__ = ["MsuMfsd"]

_REAL = re.compile(r"^real_client(\d+)_(android|laptop)_SD_scene01$")
_ATTACK = re.compile(
    r"^attack_client(\d+)_(android|laptop)_SD_(printed_photo|iphone_video|ipad_video)_scene01$"
)
_ATTACK_ID = {"printed_photo": 1, "iphone_video": 2, "ipad_video": 3}
_LISTS = {"train": "train_sub_list.txt", "test": "test_sub_list.txt"}
_EXPECTED = "scene01/real/, scene01/attack/, train_sub_list.txt and test_sub_list.txt"


class MsuMfsd(DatasetAdapter):
    """MSU-MFSD: ``scene01/{real,attack}/`` videos with same-stem ``.face`` files.

    Real: ``real_clientNNN_{android|laptop}_SD_scene01.{mp4|mov}``; attack:
    ``attack_clientNNN_{android|laptop}_SD_{ipad_video|iphone_video|printed_photo}_scene01
    .{mp4|mov}``. The split comes from ``train_sub_list.txt`` / ``test_sub_list.txt``
    (one client id per line); clients in neither list are skipped. Face boxes:
    ``frame, left, top, right, bottom, ...`` (``box_source="face_file_ltrb"``). Subject =
    the client id as two digits (as in the lists).

    Attack ids (``ATTACKS``): 1 printed photo, 2 iPhone video replay, 3 iPad video replay.

    Some real android videos are stored upside down; preprocessing honours the rotation
    recorded in the video stream (see :mod:`disentangle_fas.data.video`).
    """

    NAME: ClassVar[str] = "MSU-MFSD"
    DOMAIN: ClassVar[str] = "M"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "test")
    ATTACKS: ClassVar[dict[int, str]] = {
        1: "printed photo",
        2: "iphone video",
        3: "ipad video",
    }

    def _clients(self, split: str) -> set[int]:
        path = self._require(_LISTS[split], _EXPECTED)
        clients: set[int] = set()
        for n, line in enumerate(path.read_text().splitlines(), 1):
            token = line.strip()
            if not token:
                continue
            if not token.isdigit():
                raise ValueError(f"{path}:{n}: expected a client id like '02', got {token!r}")
            clients.add(int(token))
        return clients

    def _list_split(self, split: str) -> list[Record]:
        real_dir = self._require("scene01/real", _EXPECTED)
        attack_dir = self._require("scene01/attack", _EXPECTED)
        mine = self._clients(split)
        known = self._clients("train") | self._clients("test")
        out: list[Record] = []
        for folder in (real_dir, attack_dir):
            for path in files_with_suffix(folder, (".mp4", ".mov")):
                parsed = self._parse(path)
                if parsed is None:
                    continue
                client, attack = parsed
                if client not in known:
                    self._skip(path, f"client {client:02d} is in neither subject list")
                    continue
                if client not in mine:
                    continue
                face = path.with_suffix(".face")
                subject = f"{client:02d}"
                out.append(self._record(path, split, attack, subject, "face_file_ltrb", face))
        return out

    def _parse(self, path: Path) -> tuple[int, int] | None:
        real = _REAL.match(path.stem)
        if real is not None and path.parent.name == "real":
            return int(real.group(1)), 0
        attack = _ATTACK.match(path.stem)
        if attack is not None and path.parent.name == "attack":
            return int(attack.group(1)), _ATTACK_ID[attack.group(3)]
        self._skip(path, "name does not follow the MSU-MFSD pattern of its folder")
        return None
