"""A user's own list of videos or images (CSV or JSONL)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any, ClassVar

from disentangle_fas._io import read_text_file
from disentangle_fas.data.adapters.base import DatasetAdapter
from disentangle_fas.data.records import SPLITS, Record

__all__ = ["ListAdapter"]

_REQUIRED = ("path", "label", "domain")


class ListAdapter(DatasetAdapter):
    """Records from a CSV (with a header row) or JSONL list of your own data.

    Columns / keys: ``path``, ``label`` (1 live, 0 spoof) and ``domain`` are required;
    ``attack`` (default 0 for live, 1 for spoof), ``subject`` (default ``""``), ``split``
    (default ``"train"``), ``video_id`` (default ``"<domain>:<path without suffix>"``),
    ``box_source`` (default ``"detector"``; ``"full"`` for already-cropped faces) and
    ``annotation`` are optional. Relative paths are relative to ``root`` (by default the
    list's folder).

    Args:
        list_file: a ``.csv`` or ``.jsonl`` file.
        root: base folder of relative paths; the list's folder when ``None``.

    Raises:
        FileNotFoundError: the list does not exist.
        ValueError: a row lacks a required field or has a bad value (the message names the
            line).
    """

    NAME: ClassVar[str] = "list"
    SPLITS: ClassVar[tuple[str, ...]] = SPLITS

    def __init__(
        self, list_file: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
    ) -> None:
        self.list_file = Path(list_file).expanduser().resolve()
        if not self.list_file.is_file():
            raise FileNotFoundError(f"list file {self.list_file} does not exist")
        super().__init__(self.list_file.parent if root is None else root)

    def _rows(self) -> list[tuple[int, dict[str, Any]]]:
        text = read_text_file(self.list_file, "list file")
        if self.list_file.suffix.lower() == ".csv":
            reader = csv.DictReader(io.StringIO(text, newline=""))
            return [(n, dict(row)) for n, row in enumerate(reader, 2)]
        rows: list[tuple[int, dict[str, Any]]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{self.list_file}:{n}: not valid JSON ({err})") from err
                if not isinstance(row, dict):
                    raise ValueError(f"{self.list_file}:{n}: expected a JSON object")
                rows.append((n, row))
        return rows

    def _list_split(self, split: str) -> list[Record]:
        out: list[Record] = []
        for n, row in self._rows():
            where = f"{self.list_file}:{n}"
            missing = [k for k in _REQUIRED if row.get(k) in (None, "")]
            if missing:
                raise ValueError(f"{where}: missing {', '.join(missing)} (need {_REQUIRED})")
            row_split = str(row.get("split") or "train")
            if row_split == "devel":
                row_split = "dev"
            if row_split != split:
                continue
            path = Path(str(row["path"])).expanduser()
            path = path if path.is_absolute() else self.root / path
            try:
                label = int(row["label"])
                attack = int(row["attack"]) if row.get("attack") not in (None, "") else 1 - label
                domain = str(row["domain"])
                annotation = row.get("annotation") or None
                video_id = (
                    row.get("video_id") or f"{domain}:{Path(str(row['path'])).with_suffix('')}"
                )
                out.append(
                    Record(
                        path=path,
                        label=label,
                        attack=attack,
                        domain=domain,
                        subject=str(row.get("subject") or ""),
                        split=row_split,
                        video_id=str(video_id),
                        box_source=str(row.get("box_source") or "detector"),
                        annotation=None if annotation is None else self.root / str(annotation),
                    )
                )
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from err
        return out
