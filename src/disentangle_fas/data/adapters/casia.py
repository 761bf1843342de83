"""CASIA-FASD (domain ``"C"``)."""

from __future__ import annotations

from typing import ClassVar

from disentangle_fas.data.adapters.base import DatasetAdapter, files_with_suffix
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
    shipped, so ``box_source="detector"``.

    Attack ids (``ATTACKS``): 1 warped photo, 2 cut photo, 3 video replay.

    Subjects: train and test folders are numbered from 1 independently although they hold
    different people, so the subject is ``"train_NN"`` / ``"test_NN"``.
    """

    NAME: ClassVar[str] = "CASIA-FASD"
    DOMAIN: ClassVar[str] = "C"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "test")
    ATTACKS: ClassVar[dict[int, str]] = {1: "warped photo", 2: "cut photo", 3: "video replay"}

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
                out.append(
                    Record(
                        path=path,
                        label=1 if attack == 0 else 0,
                        attack=attack,
                        domain=self.DOMAIN,
                        subject=subject,
                        split=split,
                        video_id=self._video_id(path),
                        box_source="detector",
                        annotation=None,
                    )
                )
        return out
