"""OULU-NPU (domain ``"O"``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import ClassVar

from disentangle_fas.data.adapters.base import DatasetAdapter, files_with_suffix
from disentangle_fas.data.records import Record

__all__ = ["OuluNPU"]

_NAME = re.compile(r"^(\d)_(\d)_(\d{2})_(\d)$")
_FOLDERS = {"train": "Train_files", "dev": "Dev_files", "test": "Test_files"}
_PROTOCOL_FILE = {"train": "Train", "dev": "Dev", "test": "Test"}


class OuluNPU(DatasetAdapter):
    """OULU-NPU: ``Train_files/``, ``Dev_files/``, ``Test_files/`` of ``P_S_UU_F.avi``.

    Split from the folder, label and attack from the file id ``F`` (1 real, 2-3 print,
    4-5 video replay), subject = user ``UU``. Each video's eye positions are in the
    same-stem ``.txt`` (``frame,x_reye,y_reye,x_leye,y_leye``), so ``box_source="eyes"``.

    Attack ids (``ATTACKS``): ``F - 1``, i.e. 1 print (printer 1), 2 print (printer 2),
    3 replay (display 1), 4 replay (display 2).

    With ``protocol`` (1-4; ``fold`` 1-6 for protocols 3 and 4) only the videos listed in
    ``Protocols/Protocol_N/{Train,Dev,Test}[_fold].txt`` are returned.

    Args:
        root: dataset root.
        protocol: official protocol number, or ``None`` for every video.
        fold: fold of protocols 3 and 4.

    Raises:
        ValueError: bad protocol / fold combination.
    """

    NAME: ClassVar[str] = "OULU-NPU"
    DOMAIN: ClassVar[str] = "O"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "dev", "test")
    ATTACKS: ClassVar[dict[int, str]] = {
        1: "print (printer 1)",
        2: "print (printer 2)",
        3: "replay (display 1)",
        4: "replay (display 2)",
    }

    def __init__(
        self, root: str | os.PathLike[str], protocol: int | None = None, fold: int | None = None
    ) -> None:
        super().__init__(root)
        if protocol is not None and protocol not in (1, 2, 3, 4):
            raise ValueError(f"OULU-NPU protocol must be 1, 2, 3 or 4, got {protocol!r}")
        if protocol in (3, 4) and fold not in range(1, 7):
            raise ValueError(f"OULU-NPU protocol {protocol} needs fold 1..6, got {fold!r}")
        if protocol in (None, 1, 2) and fold is not None:
            raise ValueError("fold is only meaningful for OULU-NPU protocols 3 and 4")
        self.protocol = protocol
        self.fold = fold

    def _protocol_names(self, split: str) -> dict[str, int] | None:
        if self.protocol is None:
            return None
        suffix = f"_{self.fold}" if self.protocol in (3, 4) else ""
        rel = f"Protocols/Protocol_{self.protocol}/{_PROTOCOL_FILE[split]}{suffix}.txt"
        path = self._require(rel, "the official Protocols/ folder of OULU-NPU")
        names: dict[str, int] = {}
        for n, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            sign, _, name = line.partition(",")
            if sign.strip() not in ("+1", "-1", "1") or not name.strip():
                raise ValueError(f"{path}:{n}: expected a line like '+1,1_1_01_1', got {line!r}")
            names[name.strip()] = 1 if sign.strip() in ("+1", "1") else 0
        return names

    def _list_split(self, split: str) -> list[Record]:
        expected = "Train_files, Dev_files, Test_files"
        folder = self._require(_FOLDERS[split], expected)
        listed = self._protocol_names(split)
        out: list[Record] = []
        for path in files_with_suffix(folder, (".avi",)):
            match = _NAME.match(path.stem)
            if match is None:
                self._skip(path, "name is not P_S_UU_F")
                continue
            _, _, user, file_id = match.groups()
            if not 1 <= int(file_id) <= 5:
                self._skip(path, f"file id {file_id} is not 1..5")
                continue
            label = 1 if file_id == "1" else 0
            if listed is not None:
                if path.stem not in listed:
                    continue
                if listed[path.stem] != label:
                    raise ValueError(
                        f"OULU-NPU protocol file says {path.stem} has label "
                        f"{listed[path.stem]}, its file id says {label}"
                    )
            out.append(
                self._record(
                    path, split, int(file_id) - 1, user, "eyes", path.with_suffix(".txt"), label
                )
            )
        if listed is not None:
            missing = sorted(set(listed) - {Path(r.path).stem for r in out})
            for name in missing:
                self._skip(folder / f"{name}.avi", "listed in the protocol file but not found")
        return out
