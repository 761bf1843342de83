"""Idiap Replay-Attack (domain ``"I"``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import ClassVar

from disentangle_fas.data.adapters.base import (
    DatasetAdapter,
    face_location_file,
    files_with_suffix,
)
from disentangle_fas.data.records import Record

__all__ = ["ReplayAttack"]

_FOLDERS = {"train": "train", "dev": "devel", "test": "test"}
_REAL = re.compile(r"^client(\d+)_session(\d+)_webcam_authenticate_(controlled|adverse)_(\d+)$")
_ATTACK = re.compile(
    r"^attack_(print|mobile|highdef)_client(\d+)_session(\d+)_(highdef|mobile)_(photo|video)_"
    r"(controlled|adverse)$"
)
_ATTACK_ID = {
    ("print", "photo"): 1,
    ("print", "video"): 1,
    ("mobile", "photo"): 2,
    ("mobile", "video"): 3,
    ("highdef", "photo"): 4,
    ("highdef", "video"): 5,
}
_SUFFIXES = (".mov", ".avi", ".mp4")


class ReplayAttack(DatasetAdapter):
    """Idiap Replay-Attack: ``{train,devel,test}/real/`` and ``.../attack/{fixed,hand}/``.

    Real: ``clientNNN_session01_webcam_authenticate_{controlled|adverse}_{1|2}.mov``.
    Attack: ``attack_{print|mobile|highdef}_clientNNN_session01_{highdef|mobile}_
    {photo|video}_{controlled|adverse}.mov``. ``devel`` is reported as split ``"dev"``.
    Face boxes: ``face-locations/<same relative path>.face`` (``frame x y w h``), so
    ``box_source="face_file"``. Subject = the three-digit client id.

    Attack ids (``ATTACKS``), from the attack medium and content: 1 print (photo),
    2 mobile photo, 3 mobile video, 4 high-def tablet photo, 5 high-def tablet video.

    With ``face_locations`` (a folder of Bob face-location files laid out like
    ``face-locations/``), boxes come from there with ``box_source="face_locations"``:
    all-zero lines mean no face and the last valid box is carried forward, as Idiap does.

    Args:
        root: dataset root.
        face_locations: another face-location folder, or ``None`` for ``face-locations/``.

    Raises:
        FileNotFoundError: ``root`` or ``face_locations`` is not a folder.
    """

    NAME: ClassVar[str] = "Replay-Attack"
    DOMAIN: ClassVar[str] = "I"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "dev", "test")
    ATTACKS: ClassVar[dict[int, str]] = {
        1: "print",
        2: "mobile photo",
        3: "mobile video",
        4: "highdef photo",
        5: "highdef video",
    }

    def __init__(
        self, root: str | os.PathLike[str], face_locations: str | os.PathLike[str] | None = None
    ) -> None:
        super().__init__(root)
        self.face_locations = self._face_locations(face_locations)

    def _annotation(self, path: Path) -> Path:
        rel = path.relative_to(self.root)
        if self.face_locations is not None:
            return face_location_file(self.face_locations, rel)
        return self.root / "face-locations" / rel.with_suffix(".face")

    def _list_split(self, split: str) -> list[Record]:
        name = _FOLDERS[split]
        self._require(name, "train, devel, test (each with real/ and attack/)")
        real_dir = self._require(f"{name}/real", "real/ and attack/{fixed,hand}/ in each split")
        attack_dir = self._require(f"{name}/attack", "real/ and attack/{fixed,hand}/ in each split")
        out: list[Record] = []
        for path in files_with_suffix(real_dir, _SUFFIXES):
            match = _REAL.match(path.stem)
            if match is None:
                self._skip(path, "name is not clientNNN_session01_webcam_authenticate_*")
                continue
            out.append(self._replay_record(path, split, 0, match.group(1)))
        for support in sorted(p for p in attack_dir.iterdir() if p.is_dir()):
            for path in files_with_suffix(support, _SUFFIXES):
                match = _ATTACK.match(path.stem)
                if match is None:
                    self._skip(path, "name is not attack_{print|mobile|highdef}_clientNNN_*")
                    continue
                medium, client, _, _, content, _ = match.groups()
                out.append(self._replay_record(path, split, _ATTACK_ID[(medium, content)], client))
        return out

    def _replay_record(self, path: Path, split: str, attack: int, client: str) -> Record:
        box_source = "face_file" if self.face_locations is None else "face_locations"
        return self._record(path, split, attack, client, box_source, self._annotation(path))
