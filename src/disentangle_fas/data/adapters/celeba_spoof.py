"""CelebA-Spoof (domain ``"Cb"``)."""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from typing import ClassVar

from disentangle_fas.data.adapters.base import DatasetAdapter
from disentangle_fas.data.records import Record

__all__ = ["CELEBA_SPOOF_3D_MASK", "CelebASpoof"]

#: CelebA-Spoof's spoof-type id of 3D masks (the unseen attack of the paper's Table 2).
CELEBA_SPOOF_3D_MASK = 10

_EXPECTED = "Data/{train,test}/ and metas/intra_test/{train,test}_label.json"
_SPOOF_TYPE = 40
_LIVE_SPOOF = 43


class CelebASpoof(DatasetAdapter):
    """CelebA-Spoof: ``Data/{train,test}/<subject>/{live,spoof}/<id>.{jpg|png}``.

    Labels come from ``metas/intra_test/{train,test}_label.json`` (a dict from the
    ``Data/...`` path to 44 integers: index 40 spoof type, 43 live (0) / spoof (1)). Keys
    whose image is absent are skipped and counted in :attr:`missing_images` (and listed in
    :attr:`skipped`). Boxes: ``<id>_BB.txt`` beside the image (``x y w h score`` in a
    224x224 frame; ``box_source="bbox_file"``). Subject = the ``<subject>`` folder.

    Attack ids (``ATTACKS``) are the dataset's spoof types: 1 photo, 2 poster, 3 A4,
    4 face mask, 5 upper-body mask, 6 region mask, 7 PC, 8 pad, 9 phone, 10 3D mask.
    """

    NAME: ClassVar[str] = "CelebA-Spoof"
    DOMAIN: ClassVar[str] = "Cb"
    SPLITS: ClassVar[tuple[str, ...]] = ("train", "test")
    ATTACKS: ClassVar[dict[int, str]] = {
        1: "photo",
        2: "poster",
        3: "A4",
        4: "face mask",
        5: "upper body mask",
        6: "region mask",
        7: "PC",
        8: "pad",
        9: "phone",
        10: "3D mask",
    }

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__(root)
        #: labelled keys without an image file, counted by the last :meth:`records` call.
        self.missing_images = 0

    def records(self, split: str | None = None) -> list[Record]:
        """List the labelled images whose file exists (see :meth:`DatasetAdapter.records`).

        Args:
            split: ``"train"``, ``"test"`` or ``None`` for both.

        Returns:
            The records; :attr:`missing_images` counts the labelled keys without an image.
        """
        self.missing_images = 0
        return super().records(split)

    def _list_split(self, split: str) -> list[Record]:
        self._require(f"Data/{split}", _EXPECTED)
        label_file = self._require(f"metas/intra_test/{split}_label.json", _EXPECTED)
        with label_file.open() as fh:
            labels = json.load(fh)
        if not isinstance(labels, dict):
            raise ValueError(f"{label_file} must hold a JSON object (path -> 44 integers)")
        out: list[Record] = []
        for key, values in labels.items():
            path = self.root / key
            parts = PurePosixPath(key).parts
            if len(parts) != 5 or parts[0] != "Data" or parts[3] not in ("live", "spoof"):
                self._skip(path, "key is not Data/<split>/<subject>/{live,spoof}/<file>")
                continue
            if not isinstance(values, list) or len(values) <= _LIVE_SPOOF:
                self._skip(path, "label is not a list of 44 integers")
                continue
            if not path.is_file():
                self.missing_images += 1
                self._skip(path, "labelled but the image is missing")
                continue
            label = 1 if int(values[_LIVE_SPOOF]) == 0 else 0
            attack = int(values[_SPOOF_TYPE])
            if (label == 1) != (attack == 0):
                self._skip(path, f"live/spoof flag {values[_LIVE_SPOOF]} and spoof type {attack}")
                continue
            box_file = path.with_name(f"{path.stem}_BB.txt")
            out.append(self._record(path, split, attack, parts[2], "bbox_file", box_file, label))
        return out
