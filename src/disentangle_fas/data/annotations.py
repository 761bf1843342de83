"""Readers of the face annotations the datasets ship, all returning pixel boxes.

A box (:data:`disentangle_fas.types.Box`) is ``(x0, y0, x1, y1)`` in pixels of the stored
frame (``x1``/``y1`` exclusive).
Per-frame files map a frame number to a box, or to ``None`` where the file says "no
face" (all-zero entries). Frame numbers in the files are 0-based in the datasets
checked; a file whose smallest frame number is 1 is read as 1-based
(:func:`frame_box`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

from disentangle_fas._io import read_text_file
from disentangle_fas.types import Box

__all__ = [
    "FrameBoxes",
    "box_from_eyes",
    "carry_forward",
    "frame_box",
    "read_celeba_bbox",
    "read_eye_file",
    "read_face_file",
    "read_face_file_ltrb",
]

FrameBoxes = dict[int, Box | None]

_SEP = re.compile(r"[,\s;]+")


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _rows(path: Path, min_fields: int) -> list[tuple[int, list[float]]]:
    """Numeric rows of an annotation file as ``(line number, values)``.

    Raises:
        ValueError: a non-empty line has too few or non-numeric fields.
    """
    rows: list[tuple[int, list[float]]] = []
    # The file's text is never quoted back: an annotation path in a user's list may name
    # any file (reports would copy its lines).
    for n, line in enumerate(read_text_file(path, "annotation file").splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        fields = [f for f in _SEP.split(text) if f]
        bad = next((i for i, f in enumerate(fields, 1) if not _is_number(f)), None)
        if bad is not None:
            raise ValueError(f"{path}:{n}: expected numbers, field {bad} is not one")
        values = [float(f) for f in fields]
        if len(values) < min_fields:
            raise ValueError(
                f"{path}:{n}: expected at least {min_fields} numbers, got {len(values)}"
            )
        rows.append((n, values))
    return rows


def read_face_file(path: str | Path) -> FrameBoxes:
    """Read a Replay-Attack ``.face`` file: lines ``frame x y w h``.

    Args:
        path: the file.

    Returns:
        frame number -> box, ``None`` where ``w`` or ``h`` is not positive.

    Raises:
        ValueError: a malformed line (the message names it).
    """
    out: FrameBoxes = {}
    for _, (frame, x, y, w, h, *_) in _rows(Path(path), 5):
        out[int(frame)] = (x, y, x + w, y + h) if w > 0 and h > 0 else None
    return out


def carry_forward(boxes: FrameBoxes) -> FrameBoxes:
    """Fill frames without a face with the last valid box before them (Idiap's rule).

    Frames before the first valid box keep ``None``.

    Args:
        boxes: frame number -> box or ``None``.

    Returns:
        A new mapping with the same frames.

    Example:
        >>> carry_forward({0: None, 1: (1.0, 1.0, 5.0, 5.0), 2: None})
        {0: None, 1: (1.0, 1.0, 5.0, 5.0), 2: (1.0, 1.0, 5.0, 5.0)}
    """
    out: FrameBoxes = {}
    last: Box | None = None
    for frame in sorted(boxes):
        box = boxes[frame]
        if box is not None:
            last = box
        out[frame] = last
    return out


def read_face_file_ltrb(path: str | Path) -> FrameBoxes:
    """Read an MSU-MFSD ``.face`` file: lines ``frame, left, top, right, bottom, ...``.

    Args:
        path: the file.

    Returns:
        frame number -> box, ``None`` where the box is empty.

    Raises:
        ValueError: a malformed line.
    """
    out: FrameBoxes = {}
    for _, (frame, left, top, right, bottom, *_) in _rows(Path(path), 5):
        out[int(frame)] = (left, top, right, bottom) if right > left and bottom > top else None
    return out


def box_from_eyes(
    right_eye: tuple[float, float],
    left_eye: tuple[float, float],
    *,
    size_factor: float = 2.5,
    down_shift: float = 0.3,
) -> Box | None:
    """A square face box from the two eye centres (OULU-NPU ships eyes, not boxes).

    With ``d`` the inter-eye distance, the box is ``size_factor * d`` wide, centred
    ``down_shift * d`` below the eyes' midpoint. The defaults give a box similar to an
    MTCNN face box (eyes about 38% from its top, eye distance 40% of its width).

    Args:
        right_eye: ``(x, y)`` of the subject's right eye.
        left_eye: ``(x, y)`` of the subject's left eye.
        size_factor: box side in units of the eye distance.
        down_shift: downward shift of the centre in units of the eye distance.

    Returns:
        The box, or ``None`` when the eyes coincide (no detection).
    """
    dist = math.hypot(left_eye[0] - right_eye[0], left_eye[1] - right_eye[1])
    if dist <= 0 or not math.isfinite(dist):
        return None
    cx = (left_eye[0] + right_eye[0]) / 2
    cy = (left_eye[1] + right_eye[1]) / 2 + down_shift * dist
    half = size_factor * dist / 2
    return (cx - half, cy - half, cx + half, cy + half)


def read_eye_file(
    path: str | Path, *, size_factor: float = 2.5, down_shift: float = 0.3
) -> FrameBoxes:
    """Read an OULU-NPU eye-position file and turn each line into a face box.

    Lines are ``frame,x_reye,y_reye,x_leye,y_leye``; all-zero eyes mean no detection.

    Args:
        path: the ``.txt`` beside the video.
        size_factor: see :func:`box_from_eyes`.
        down_shift: see :func:`box_from_eyes`.

    Returns:
        frame number -> box or ``None``.

    Raises:
        ValueError: a malformed line.
    """
    out: FrameBoxes = {}
    for _, (frame, xr, yr, xl, yl, *_) in _rows(Path(path), 5):
        if xr == yr == xl == yl == 0:
            out[int(frame)] = None
        else:
            out[int(frame)] = box_from_eyes(
                (xr, yr), (xl, yl), size_factor=size_factor, down_shift=down_shift
            )
    return out


def read_celeba_bbox(path: str | Path, width: int, height: int) -> Box | None:
    """Read a CelebA-Spoof ``<id>_BB.txt`` (``x y w h score`` in a 224x224 frame).

    Args:
        path: the file.
        width: width of the image the box belongs to.
        height: its height.

    Returns:
        The box in image pixels (x scaled by ``width / 224``, y by ``height / 224``), or
        ``None`` for an empty box.

    Raises:
        ValueError: the file has no line of at least four numbers.
    """
    rows = _rows(Path(path), 4)
    if not rows:
        raise ValueError(f"{path}: empty bounding-box file")
    x, y, w, h = rows[0][1][:4]
    if w <= 0 or h <= 0:
        return None
    sx, sy = width / 224.0, height / 224.0
    return (x * sx, y * sy, (x + w) * sx, (y + h) * sy)


def frame_box(boxes: Mapping[int, Box | None], index: int) -> Box | None:
    """Box of the 0-based decoded frame ``index`` in a per-frame annotation.

    Files whose frame numbers start at 1 (no 0 present, minimum 1) are read as 1-based.

    Args:
        boxes: the file's frame -> box mapping.
        index: 0-based index of the decoded frame.

    Returns:
        The box, or ``None`` when the frame has none.
    """
    if not boxes:
        return None
    base = 1 if 0 not in boxes and min(boxes) == 1 else 0
    return boxes.get(index + base)
