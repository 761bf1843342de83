"""CASIA-FASD (domain ``"C"``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from disentangle_fas.data.adapters.base import (
    DatasetAdapter,
    face_location_file,
    files_with_suffix,
)
from disentangle_fas.data.records import Record

__all__ = ["CasiaFASD"]

_FOLDERS = {"train": "train_release", "test": "test_release"}
#: file stem -> attack id (0 live)
_ATTACK_OF = {
    "1": 0,
    "2": 0,
    "HR_1": 0,
    "3": 1,
    "4": 1,
    "HR_2": 1,
    "5": 2,
    "6": 2,
    "HR_3": 2,
    "7": 3,
    "8": 3,
    "HR_4": 3,
}


class CasiaFASD(DatasetAdapter):
    """CASIA-FASD: ``train_release/{1..20}/`` and ``test_release/{1..30}/``.

    Each subject folder holds ``1..8.avi`` and ``HR_1..HR_4.avi``: 1, 2, HR_1 real; 3, 4,
    HR_2 warped photo; 5, 6, HR_3 cut photo; 7, 8, HR_4 video replay. No face boxes are
    shipped, so ``box_source="detector"`` -- unless ``face_locations`` names a folder of Bob
    face-location files (Idiap's ``bob.db.casia_fasd`` publishes one for every CASIA frame,
    ``frame x y w h``), laid out like the videos: ``<face_locations>/train_release/1/HR_1.face``
    for ``train_release/1/HR_1.avi``. Records then use ``box_source="face_locations"``:
    all-zero lines mean no face and the last valid box is carried forward.

    Attack ids (``ATTACKS``): 1 warped photo, 2 cut photo, 3 video replay.

    Subjects: train and test folders are numbered from 1 independently although they hold
    different people, so the subject is ``"train_NN"`` / ``"test_NN"``.

    Args:
        root: dataset root.
        face_locations: folder of Bob ``.face`` files mirroring the videos' paths, or ``None``
            (MTCNN finds the faces).

    Raises:
        FileNotFoundError: ``root`` or ``face_locations`` is not a folder.
    """

    NAME: ClassVar[str] = "CASIA-FASD"
    DOMAIN: ClassVar[str] = "C"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "test")
    ATTACKS: ClassVar[dict[int, str]] = {1: "warped photo", 2: "cut photo", 3: "video replay"}

    def __init__(
        self, root: str | os.PathLike[str], face_locations: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(root)
        self.face_locations = self._face_locations(face_locations)

    def _list_split(self, split: str) -> list[Record]:
        folder = self._require(_FOLDERS[split], "train_release, test_release")
        out: list[Record] = []
        subjects = sorted(p for p in folder.iterdir() if p.is_dir())
        for subject_dir in subjects:
            if not subject_dir.name.isdigit():
                self._skip(subject_dir, "subject folder name is not a number")
                continue
            subject = f"{split}_{int(subject_dir.name):02d}"
            for path in files_with_suffix(subject_dir, (".avi",)):
                attack = _ATTACK_OF.get(path.stem)
                if attack is None:
                    self._skip(path, "name is not 1..8 or HR_1..HR_4")
                    continue
                source = "detector" if self.face_locations is None else "face_locations"
                annotation = self._bob_file(path)
                out.append(self._record(path, split, attack, subject, source, annotation))
        return out

    def _bob_file(self, path: Path) -> Path | None:
        if self.face_locations is None:
            return None
        return face_location_file(self.face_locations, path.relative_to(self.root))
