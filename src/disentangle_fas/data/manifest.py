"""The manifest of preprocessed crops: one JSON object per line (JSONL).

Each line describes one crop::

    {"path": "crops/I/train/real/client001_...-3f9a0c1d2e/000006.png", "label": 1, "attack": 0,
     "domain": "I", "subject": "001", "split": "train",
     "video_id": "I:train/real/client001_...", "frame": 6,
     "box": [x0, y0, x1, y1], "box_source": "face_file"}

``path`` is relative to the manifest's folder (absolute paths are kept as they are);
``box`` is the face box in pixels of the source frame (``null`` for ``"full"``).

:func:`read_manifest` also reads a CSV manifest with a header row and the same columns
(``frame``, ``box`` — four numbers separated by spaces —, ``box_source``, ``attack``,
``subject`` and ``video_id`` optional), such as the synthetic benchmark's export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from disentangle_fas._io import atomic_write_text, read_text_file
from disentangle_fas.types import LabelledItem

__all__ = ["ManifestEntry", "read_manifest", "write_manifest"]


@dataclass(frozen=True)
class ManifestEntry(LabelledItem[str]):
    """One preprocessed crop.

    Attributes:
        path: image file, relative to the manifest's folder (or absolute).
        label: 1 live, 0 spoof.
        attack: 0 live, dataset attack id otherwise.
        domain: dataset short name.
        subject: person id.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        video_id: source video id (frames of one video share it).
        frame: 0-based frame index in the source video (0 for images).
        box: face box ``(x0, y0, x1, y1)`` in source pixels, or ``None``.
        box_source: where the box came from.
    """

    frame: int = 0
    box: tuple[float, float, float, float] | None = None
    box_source: str = "detector"

    def to_json(self) -> str:
        """One JSONL line (no newline)."""
        data = asdict(self)
        data["box"] = None if self.box is None else [round(float(v), 2) for v in self.box]
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestEntry:
        """Build an entry from a parsed JSON object.

        Args:
            data: the object.

        Returns:
            The entry.

        Raises:
            ValueError: a required key is missing or has a bad type.
        """
        try:
            box = data.get("box")
            if isinstance(box, str):  # CSV: "x0 y0 x1 y1" or empty
                box = box.split() or None
            data = {k: v for k, v in data.items() if v not in ("", None)}
            return cls(
                path=str(data["path"]),
                label=int(data["label"]),
                attack=int(data.get("attack", 1 - int(data["label"]))),
                domain=str(data["domain"]),
                subject=str(data.get("subject", "")),
                split=str(data.get("split", "train")),
                video_id=str(data.get("video_id", data["path"])),
                frame=int(data.get("frame", 0)),
                box=None
                if box is None
                else (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                box_source=str(data.get("box_source", "detector")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as err:
            raise ValueError(f"bad manifest entry {data!r}: {err!r}") from err


def read_manifest(path: str | Path) -> list[ManifestEntry]:
    """Read a JSONL (or CSV) manifest.

    Args:
        path: the manifest file (``.csv`` is read as CSV, anything else as JSONL).

    Returns:
        Its entries, in file order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a regular UTF-8 file (a byte-order mark is fine), or a line that is
            not a valid entry (the message names the line).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"manifest {path} does not exist (run disentangle-fas preprocess)")
    text = read_text_file(path, "manifest")
    out: list[ManifestEntry] = []
    if path.suffix.lower() == ".csv":
        for n, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), 2):
            try:
                out.append(ManifestEntry.from_dict(dict(row)))
            except ValueError as err:
                raise ValueError(f"{path}:{n}: {err}") from err
        return out
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            out.append(ManifestEntry.from_dict(data))
        except ValueError as err:
            raise ValueError(f"{path}:{n}: {err}") from err
    return out


def write_manifest(path: str | Path, entries: Iterable[ManifestEntry]) -> None:
    """Write a JSONL manifest atomically.

    Args:
        path: destination.
        entries: the entries, in order.
    """
    text = "".join(entry.to_json() + "\n" for entry in entries)
    atomic_write_text(path, text)
