"""Shared machinery of the dataset adapters."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from disentangle_fas.data.records import Record, check_split

__all__ = ["DatasetAdapter", "Skipped", "face_location_file", "files_with_suffix"]

#: ``(path, reason)`` of an item an adapter found but could not turn into a record.
Skipped = tuple[Path, str]


class DatasetAdapter(ABC):
    """Base class: ``Adapter(root).records(split=None) -> list[Record]``.

    Subclasses set :attr:`NAME`, :attr:`DOMAIN`, :attr:`SPLITS` and :attr:`ATTACKS` and
    implement :meth:`_list_split`. Listing reads folder names and annotation files only.
    After :meth:`records`, :attr:`skipped` lists the items that were found but left out
    (unexpected names, images missing for a label, ...), with the reason.

    Args:
        root: the dataset's root folder (the local copy; nothing is ever downloaded).

    Raises:
        FileNotFoundError: ``root`` does not exist or is not a folder.
    """

    NAME: ClassVar[str] = ""
    DOMAIN: ClassVar[str] = ""
    SPLITS: ClassVar[tuple[str, ...]] = ()
    #: attack id -> description; 0 is always live.
    ATTACKS: ClassVar[dict[int, str]] = {}

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"{self.NAME} root {self.root} does not exist or is not a folder: "
                "point the adapter at your local copy of the dataset"
            )
        self.skipped: list[Skipped] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={str(self.root)!r})"

    def records(self, split: str | None = None) -> list[Record]:
        """List the dataset's items.

        Args:
            split: ``"train"``, ``"dev"`` or ``"test"`` (those the dataset has), or ``None``
                for every split.

        Returns:
            The records, sorted by split (in :attr:`SPLITS` order) then path.

        Raises:
            ValueError: unknown split.
            FileNotFoundError: the root lacks a folder or file the split needs.
        """
        check_split(split, self.SPLITS, self.NAME)
        self.skipped = []
        out: list[Record] = []
        for name in self.SPLITS if split is None else (split,):
            out.extend(sorted(self._list_split(name), key=lambda r: str(r.path)))
        self.skipped = list(dict.fromkeys(self.skipped))  # splits may revisit an item
        return out

    @abstractmethod
    def _list_split(self, split: str) -> list[Record]:
        """List one split (``split`` is valid)."""

    # -- helpers ----------------------------------------------------------------------------
    def _require(self, relative: str, expected: str) -> Path:
        """Return ``root / relative`` or raise a message naming what is missing."""
        path = self.root / relative
        if not path.exists():
            kind = "" if "." in Path(relative).name else "/"
            raise FileNotFoundError(
                f"{self.NAME} root {self.root} has no {relative}{kind}: expected {expected}"
            )
        return path

    def _face_locations(self, folder: str | os.PathLike[str] | None) -> Path | None:
        """Check and resolve a face-location folder option (``None`` stays ``None``)."""
        if folder is None:
            return None
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            raise FileNotFoundError(
                f"face-location folder {path} does not exist or is not a folder: pass the "
                "folder of .face files laid out like the videos"
            )
        return path

    def _video_id(self, path: Path) -> str:
        rel = path.relative_to(self.root).with_suffix("")
        return f"{self.DOMAIN}:{rel.as_posix()}"

    def _record(
        self,
        path: Path,
        split: str,
        attack: int,
        subject: str,
        box_source: str,
        annotation: Path | None,
        label: int | None = None,
    ) -> Record:
        """A record of this dataset's domain; ``label`` defaults to live iff ``attack == 0``."""
        return Record(
            path=path,
            label=(1 if attack == 0 else 0) if label is None else label,
            attack=attack,
            domain=self.DOMAIN,
            subject=subject,
            split=split,
            video_id=self._video_id(path),
            box_source=box_source,
            annotation=annotation,
        )

    def _skip(self, path: Path, reason: str) -> None:
        self.skipped.append((path, reason))


def files_with_suffix(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    """Sorted regular files of ``folder`` whose lower-cased suffix is in ``suffixes``."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in wanted)


def face_location_file(folder: Path, relative: Path) -> Path:
    """The Bob face-location file of a video: ``folder / <relative path>.face``.

    Args:
        folder: the face-location folder.
        relative: the video's path relative to the dataset root.

    Returns:
        ``folder/<relative without suffix>.face``.
    """
    return folder / relative.with_suffix(".face")
