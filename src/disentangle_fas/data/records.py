"""The record type every dataset adapter returns, and the split / box-source vocabulary.

A :class:`Record` describes one *source item* of a dataset (a video, or an image for
CelebA-Spoof) before preprocessing: where it is, its labels, and where its face box comes
from. Adapters build records from file names and annotation files only; they never decode
video.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from disentangle_fas._io import path_text
from disentangle_fas.types import LabelledItem

__all__ = [
    "BOX_SOURCES",
    "IMAGE_SUFFIXES",
    "SPLITS",
    "VIDEO_SUFFIXES",
    "LabelledItem",
    "Record",
    "check_split",
]

#: The split names used throughout the library (Replay-Attack's ``devel`` becomes ``dev``).
SPLITS: tuple[str, ...] = ("train", "dev", "test")

#: Where a record's face box comes from.
#:
#: * ``"eyes"``: OULU-NPU eye-position file (``frame,x_reye,y_reye,x_leye,y_leye``).
#: * ``"face_file"``: Replay-Attack ``.face`` file (``frame x y w h``).
#: * ``"face_locations"``: a Bob face-location file (``frame x y w h``, the same format) from
#:   a separate folder (``--face-locations``, e.g. ``bob.db.casia_fasd``'s for CASIA-FASD);
#:   all-zero lines mean no face, and the last valid box is carried forward as Idiap does.
#: * ``"face_file_ltrb"``: MSU-MFSD ``.face`` file (``frame, left, top, right, bottom, ...``).
#: * ``"bbox_file"``: CelebA-Spoof ``<id>_BB.txt`` (``x y w h score`` in a 224x224 frame).
#: * ``"detector"``: no box shipped; a face detector (MTCNN) finds it.
#: * ``"full"``: the whole image is the face (already-cropped user data).
BOX_SOURCES: tuple[str, ...] = (
    "eyes",
    "face_file",
    "face_locations",
    "face_file_ltrb",
    "bbox_file",
    "detector",
    "full",
)

VIDEO_SUFFIXES: frozenset[str] = frozenset({".avi", ".mov", ".mp4", ".mkv", ".webm", ".m4v"})
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


def check_split(split: str | None, allowed: tuple[str, ...], dataset: str) -> None:
    """Raise a clear error when ``split`` is not one of ``allowed`` (``None`` is always fine).

    Args:
        split: requested split or ``None`` (all splits).
        allowed: the splits the dataset has.
        dataset: dataset name for the message.

    Raises:
        ValueError: ``split`` is not ``None`` and not in ``allowed``.
    """
    if split is not None and split not in allowed:
        raise ValueError(
            f"{dataset} has no split {split!r}: choose one of {', '.join(allowed)} "
            "(or None for all of them)"
        )


@dataclass(frozen=True)
class Record(LabelledItem[Path]):
    """One video (or image) of a dataset, with its labels and face-box source.

    Attributes:
        path: absolute path of the video or image file.
        label: 1 = live (bona fide), 0 = spoof.
        attack: 0 for live; a positive dataset-specific attack id for spoof (each adapter
            documents its mapping in its ``ATTACKS`` table).
        domain: dataset short name: ``"O"``, ``"C"``, ``"I"``, ``"M"``, ``"Cb"`` (any string
            for user lists).
        subject: person identifier, unique within the dataset.
        split: ``"train"``, ``"dev"`` or ``"test"``.
        video_id: globally unique id ``"<domain>:<path relative to the root, no suffix>"``;
            frames of one video share it.
        box_source: where the face box comes from (one of :data:`BOX_SOURCES`).
        annotation: the dataset's annotation file for this item (eye positions, ``.face``,
            ``_BB.txt``), or ``None`` when the dataset ships none. The path is where the
            dataset puts it; preprocessing reports it when the file is missing.
    """

    box_source: str = "detector"
    annotation: Path | None = None

    def __post_init__(self) -> None:
        if self.label not in (0, 1):
            raise ValueError(f"label must be 1 (live) or 0 (spoof), got {self.label!r}")
        if self.label == 1 and self.attack != 0:
            raise ValueError(f"a live record must have attack 0, got {self.attack}")
        if self.label == 0 and self.attack <= 0:
            raise ValueError(f"a spoof record needs a positive attack id, got {self.attack}")
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")
        if self.box_source not in BOX_SOURCES:
            raise ValueError(f"box_source must be one of {BOX_SOURCES}, got {self.box_source!r}")
        # An id made from a file name that is not UTF-8 becomes valid text (its bytes as
        # \xNN): it is written to manifests and reports as JSON.
        object.__setattr__(self, "video_id", path_text(self.video_id))

    @property
    def is_video(self) -> bool:
        """Whether the item is a video (decided by its file suffix)."""
        return self.path.suffix.lower() in VIDEO_SUFFIXES
