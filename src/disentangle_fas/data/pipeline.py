"""Preprocessing of one record: decode, sample frames, find the face, crop, save.

:func:`process_record` never raises for a bad input item: unreadable videos, missing or
malformed annotation files and frames without a face become :class:`Problem` entries.
A video whose crops are all written gets a *shard* (its manifest entries and problems,
written atomically last), which marks it done for a later resumed run.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from disentangle_fas._io import (
    atomic_write_bytes,
    atomic_write_text,
    check_regular_file,
    remove_temporaries,
)
from disentangle_fas.data.annotations import (
    carry_forward,
    frame_box,
    read_celeba_bbox,
    read_eye_file,
    read_face_file,
    read_face_file_ltrb,
)
from disentangle_fas.data.faces import FaceDetector, crop_face, orient
from disentangle_fas.data.manifest import ManifestEntry
from disentangle_fas.data.records import Record
from disentangle_fas.data.video import (
    SAMPLING_RULES,
    VideoReadError,
    count_frames,
    iter_frames,
    sample_frame_indices,
)
from disentangle_fas.imaging import pil_to_rgb8
from disentangle_fas.types import Box

__all__ = [
    "PROBLEM_KINDS",
    "LazyDetector",
    "PreprocessConfig",
    "Problem",
    "RecordOutcome",
    "process_record",
    "read_shard",
    "shard_path",
    "write_shard",
]

#: Problem kinds recorded in the report.
PROBLEM_KINDS: tuple[str, ...] = (
    "unreadable",
    "missing_annotation",
    "bad_annotation",
    "no_face",
    "error",
)
_FORMATS = {"png": ("PNG", ".png"), "jpg": ("JPEG", ".jpg")}


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of a preprocessing run (all have defaults; see ``docs/datasets.md``).

    Attributes:
        frames: frames kept per video (images give one).
        sampling: frame-sampling rule, one of :data:`~disentangle_fas.data.video.SAMPLING_RULES`.
        offset: first frame of the ``"literature"`` rule.
        size: side of the square output crops.
        crop_scale: the crop square's side is ``crop_scale * max(box w, box h)``.
        image_format: ``"png"`` (lossless) or ``"jpg"``.
        jpeg_quality: JPEG quality when ``image_format="jpg"``.
        eye_box_factor: OULU-NPU box side in inter-eye distances.
        honour_rotation: turn frames upright using the stream's display rotation.
        detector_fallback: use the detector when an annotation file is missing or a frame
            has no annotated face (otherwise such videos / frames are reported and skipped).
        split_frames: ``(split, frames)`` pairs overriding ``frames`` for some splits (a
            recipe's "one frame per training video, two per test video").
    """

    frames: int = 10
    sampling: str = "literature"
    offset: int = 6
    size: int = 256
    crop_scale: float = 1.2
    image_format: str = "png"
    jpeg_quality: int = 95
    eye_box_factor: float = 2.5
    honour_rotation: bool = True
    detector_fallback: bool = False
    split_frames: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if any(k < 1 for _, k in self.split_frames):
            raise ValueError(f"split_frames must be >= 1, got {self.split_frames}")
        if self.sampling not in SAMPLING_RULES:
            raise ValueError(f"sampling must be one of {SAMPLING_RULES}, got {self.sampling!r}")
        if self.frames < 1 or self.size < 1 or self.offset < 0:
            raise ValueError("frames and size must be >= 1 and offset >= 0")
        if self.crop_scale <= 0 or self.eye_box_factor <= 0:
            raise ValueError("crop_scale and eye_box_factor must be positive")
        if self.image_format not in _FORMATS:
            raise ValueError(f"image_format must be 'png' or 'jpg', got {self.image_format!r}")

    def frames_for(self, split: str) -> int:
        """Frames kept per video of ``split`` (``split_frames`` first, then ``frames``)."""
        return dict(self.split_frames).get(split, self.frames)

    def fingerprint(self) -> str:
        """A short hash of the settings; shards written under other settings are redone."""
        settings = asdict(self)
        if not self.split_frames:  # runs from before the option keep their fingerprint
            del settings["split_frames"]
        text = json.dumps(settings, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Problem:
    """Something that went wrong with one item (kept in the report, never fatal).

    Attributes:
        kind: one of :data:`PROBLEM_KINDS`.
        video_id: the item.
        path: the file concerned (video, image or annotation).
        detail: a human-readable message.
        frame: the frame concerned, if any.
    """

    kind: str
    video_id: str
    path: str
    detail: str
    frame: int | None = None


@dataclass
class RecordOutcome:
    """What :func:`process_record` did with one record.

    Attributes:
        video_id: the record's id.
        ok: the item was processed (possibly with some faceless frames); its shard exists.
        entries: manifest entries of the written crops.
        problems: what went wrong.
    """

    video_id: str
    ok: bool
    entries: list[ManifestEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _safe(part: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", part).strip("._")
    return cleaned or "_"


def id_digest(video_id: str, length: int = 12) -> str:
    """Hex digest of a video id (SHA-1 of its UTF-8 bytes; names that are not valid UTF-8,
    read as lone surrogates, hash too).

    Args:
        video_id: the id.
        length: hex digits kept.
    """
    return hashlib.sha1(video_id.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def crop_dir(out_dir: Path, video_id: str) -> Path:
    """Folder of a video's crops: ``crops/<domain>/<relative path>-<digest>``.

    The parts are readable (every run of characters outside ``[A-Za-z0-9._-]`` becomes
    ``_``), and the last one ends with 10 hex digits of the SHA-1 of the whole video id, so
    two ids never share a folder, not even ids that differ only in characters the readable
    parts drop (``张三`` and ``李四``, ``a b`` and ``a_b``) or only in case (on file systems
    that ignore case).
    """
    domain, _, rest = video_id.partition(":")
    parts = [_safe(domain)] + [_safe(p) for p in rest.split("/") if p]
    parts[-1] = f"{parts[-1][:80]}-{id_digest(video_id, 10)}"
    return out_dir.joinpath("crops", *parts)


def shard_path(out_dir: Path, video_id: str) -> Path:
    """The done-marker / manifest shard of a video: ``shards/<name>-<hash>.json``."""
    return out_dir / "shards" / f"{_safe(video_id)[-80:]}-{id_digest(video_id)}.json"


def _load_boxes(record: Record, config: PreprocessConfig) -> Mapping[int, Box | None]:
    assert record.annotation is not None
    if record.box_source == "eyes":
        return read_eye_file(record.annotation, size_factor=config.eye_box_factor)
    if record.box_source == "face_file":
        return read_face_file(record.annotation)
    if record.box_source == "face_locations":
        return carry_forward(read_face_file(record.annotation))
    return read_face_file_ltrb(record.annotation)


def _frames(
    record: Record, config: PreprocessConfig
) -> tuple[list[tuple[int, NDArray[np.uint8], int]], list[int]]:
    """The sampled frames ``(index, image, rotation)`` and the sampled indices not decoded."""
    if not record.is_video:
        try:
            check_regular_file(record.path, "image")
            with Image.open(record.path) as img:
                return [(0, pil_to_rgb8(img), 0)], []
        except (OSError, ValueError) as err:
            raise VideoReadError(f"{record.path}: cannot read image ({err})") from err
    n = count_frames(record.path)
    k = config.frames_for(record.split)
    indices = sample_frame_indices(n, k, config.sampling, offset=config.offset)
    frames = list(iter_frames(record.path, indices))
    if not frames:
        raise VideoReadError(f"{record.path}: no frame could be decoded ({n} packets)")
    got = {i for i, _, _ in frames}
    return frames, [i for i in indices if i not in got]


def _encode(image: NDArray[np.uint8], config: PreprocessConfig) -> bytes:
    fmt, _ = _FORMATS[config.image_format]
    buf = io.BytesIO()
    kwargs: dict[str, Any] = {"quality": config.jpeg_quality} if fmt == "JPEG" else {}
    Image.fromarray(image).save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def process_record(
    record: Record,
    out_dir: Path,
    config: PreprocessConfig,
    detector: FaceDetector | None = None,
) -> RecordOutcome:
    """Preprocess one record and write its crops and shard.

    Args:
        record: the video or image.
        out_dir: output root (crops go to ``crops/``, shards to ``shards/``).
        config: settings.
        detector: face detector for ``box_source="detector"`` records and the fallback
            (wrap a factory in :class:`LazyDetector` to build it only when needed).

    Returns:
        The result; ``ok=False`` when nothing could be produced for a reason worth
        retrying (unreadable file, missing or malformed annotation without fallback).
    """
    result = RecordOutcome(record.video_id, ok=False)

    def problem(kind: str, detail: str, path: Path | None = None, frame: int | None = None) -> None:
        where = str(path if path is not None else record.path)
        result.problems.append(Problem(kind, record.video_id, where, detail, frame))

    use_detector = record.box_source == "detector"
    boxes: Mapping[int, Box | None] | None = None
    if record.box_source in ("eyes", "face_file", "face_locations", "face_file_ltrb", "bbox_file"):
        ann = record.annotation
        if ann is None or not ann.is_file():
            problem("missing_annotation", "annotation file not found", ann)
            if not (config.detector_fallback and detector is not None):
                return result
            use_detector = True
        elif record.box_source != "bbox_file":
            try:
                boxes = _load_boxes(record, config)
            except (ValueError, OSError) as err:
                problem("bad_annotation", str(err), ann)
                if not (config.detector_fallback and detector is not None):
                    return result
                use_detector = True
    if use_detector and detector is None:
        problem("error", "this item needs a face detector but none was given")
        return result

    try:
        frames, undecoded = _frames(record, config)
    except VideoReadError as err:
        problem("unreadable", str(err))
        return result
    for index in undecoded:
        problem("unreadable", "frame could not be decoded", frame=index)

    folder = crop_dir(out_dir, record.video_id)
    remove_temporaries(folder)  # of a killed earlier attempt: the folder is this item's own
    _, ext = _FORMATS[config.image_format]
    for index, stored, rotation in frames:
        rotation = rotation if config.honour_rotation else 0
        image = stored
        box: Box | None = None
        source = "detector" if use_detector else record.box_source
        if record.box_source == "full":
            image = orient(stored, rotation)
            box = (0.0, 0.0, float(image.shape[1]), float(image.shape[0]))
        elif not use_detector and record.box_source == "bbox_file":
            assert record.annotation is not None
            try:
                box = read_celeba_bbox(record.annotation, stored.shape[1], stored.shape[0])
            except (ValueError, OSError) as err:
                problem("bad_annotation", str(err), record.annotation)
                return result
        elif not use_detector and boxes is not None:
            box = frame_box(boxes, index)
        if box is None and detector is not None and (use_detector or config.detector_fallback):
            image = orient(stored, rotation)
            box = detector(image)
            rotation = 0  # the detector saw the upright frame
            source = "detector"
        if box is None:
            problem("no_face", "no face box for this frame", frame=index)
            continue
        crop = orient(crop_face(image, box, scale=config.crop_scale, size=config.size), rotation)
        target = folder / f"{index:06d}{ext}"
        atomic_write_bytes(target, _encode(crop, config))
        result.entries.append(
            ManifestEntry(
                path=target.relative_to(out_dir).as_posix(),
                **record.labels(),
                frame=index,
                box=None if record.box_source == "full" else box,
                box_source=source,
            )
        )
    result.ok = True
    write_shard(out_dir, result, config.fingerprint())
    return result


class LazyDetector:
    """A :class:`FaceDetector` created from a factory on first use (once per process).

    Lets worker processes build their own detector, and avoids building one at all when
    no item needs it.

    Args:
        factory: zero-argument callable returning a :class:`FaceDetector`.
    """

    def __init__(self, factory: Callable[[], FaceDetector]) -> None:
        self.factory = factory
        self._detector: FaceDetector | None = None

    def __call__(self, image: NDArray[np.uint8]) -> Box | None:
        """Detect the face of ``image`` (see :class:`FaceDetector`)."""
        if self._detector is None:
            self._detector = self.factory()
        return self._detector(image)


def write_shard(out_dir: Path, result: RecordOutcome, fingerprint: str) -> None:
    """Write a finished video's shard atomically (this marks it done)."""
    data = {
        "video_id": result.video_id,
        "fingerprint": fingerprint,
        "entries": [json.loads(e.to_json()) for e in result.entries],
        "problems": [asdict(p) for p in result.problems],
    }
    path = shard_path(out_dir, result.video_id)
    remove_temporaries(path.parent, of=path.name)  # this item's own, left by a kill
    atomic_write_text(path, json.dumps(data))


def read_shard(out_dir: Path, video_id: str, fingerprint: str) -> RecordOutcome | None:
    """A video's finished result, or ``None`` when it must be (re)done.

    ``None`` when the shard is absent, unreadable, written under other settings, or names
    a crop file that no longer exists.
    """
    path = shard_path(out_dir, video_id)
    try:
        data = json.loads(path.read_text())
        if data.get("fingerprint") != fingerprint or data.get("video_id") != video_id:
            return None
        entries = [ManifestEntry.from_dict(e) for e in data["entries"]]
        problems = [Problem(**p) for p in data["problems"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not all((out_dir / e.path).is_file() for e in entries):
        return None
    return RecordOutcome(video_id, ok=True, entries=entries, problems=problems)
