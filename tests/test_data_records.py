"""Records and manifest entries share their leading identity fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from disentangle_fas.data.manifest import ManifestEntry
from disentangle_fas.data.records import LabelledItem, Record
from disentangle_fas.synthetic.dataset import SyntheticRecord

LEADING = ["path", "label", "attack", "domain", "subject", "split", "video_id"]


@pytest.mark.parametrize("cls", [Record, ManifestEntry, SyntheticRecord])
def test_leading_fields_come_from_the_labelled_item(cls: type) -> None:
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[: len(LEADING)] == LEADING
    assert [f.name for f in dataclasses.fields(LabelledItem)] == LEADING
    assert issubclass(cls, LabelledItem)


def test_positional_construction_keeps_its_order() -> None:
    rec = Record(Path("/a.avi"), 0, 2, "O", "07", "dev", "O:a", "eyes")
    assert (rec.path, rec.label, rec.attack, rec.video_id, rec.box_source) == (
        Path("/a.avi"), 0, 2, "O:a", "eyes",
    )  # fmt: skip
    entry = ManifestEntry("a/000001.png", 1, 0, "C", "3", "train", "C:a", 4)
    assert entry.frame == 4 and entry.box is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.label = 0  # type: ignore[misc]
    with pytest.raises(ValueError, match="live record must have attack 0"):
        Record(Path("/b.avi"), 1, 3, "O", "07", "dev", "O:b")


def test_labels_carry_a_record_over_to_an_entry() -> None:
    rec = Record(Path("/a.avi"), 0, 2, "O", "07", "dev", "O:a", "eyes")
    assert rec.labels() == {
        "label": 0,
        "attack": 2,
        "domain": "O",
        "subject": "07",
        "split": "dev",
        "video_id": "O:a",
    }
    entry = ManifestEntry(path="crops/000003.png", **rec.labels(), frame=3)
    for name in LEADING[1:]:
        assert getattr(entry, name) == getattr(rec, name)
    assert (entry.path, entry.frame) == ("crops/000003.png", 3)
