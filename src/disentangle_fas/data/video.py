"""Video decoding with PyAV (optional dependency) and frame-sampling rules."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SAMPLING_RULES",
    "VideoReadError",
    "count_frames",
    "iter_frames",
    "require_av",
    "sample_frame_indices",
]

#: ``"literature"``: frames ``offset + j * floor(n / k)``; ``"uniform"``: the centres of
#: ``k`` equal parts of the video; ``"every"``: every ``k``-th frame from ``offset``;
#: ``"all"``: every frame.
SAMPLING_RULES: tuple[str, ...] = ("literature", "uniform", "every", "all")


class VideoReadError(RuntimeError):
    """A video could not be opened or decoded."""


def require_av() -> Any:
    """Import PyAV or raise an ImportError naming the extra to install.

    Returns:
        The ``av`` module.

    Raises:
        ImportError: PyAV is not installed.
    """
    try:
        import av
    except ImportError as err:
        raise ImportError(
            'decoding videos needs PyAV: pip install "disentangle-fas[video]" (or pip install av)'
        ) from err
    return av


def sample_frame_indices(
    num_frames: int, k: int, rule: str = "literature", *, offset: int = 6
) -> list[int]:
    """Choose which frames of an ``num_frames``-frame video to keep.

    * ``"literature"``: ``offset + j * floor(n / k)`` for ``j = 0 .. k-1`` (the rule of
      the DG-FAS literature, ``offset = 6``); indices past the end are clamped to the last
      frame and duplicates dropped, so short videos give fewer frames.
    * ``"uniform"``: ``floor((j + 0.5) * n / k)``, the centres of ``k`` equal parts.
    * ``"every"``: ``offset, offset + k, offset + 2k, ...`` (``k`` is the step; SA-FAS
      keeps every 5th frame).
    * ``"all"``: every frame (``k`` ignored).

    Args:
        num_frames: number of frames of the video.
        k: frames wanted per video.
        rule: one of :data:`SAMPLING_RULES`.
        offset: first frame of the ``"literature"`` rule.

    Returns:
        Sorted, distinct 0-based frame indices (empty when the video has no frames).

    Raises:
        ValueError: unknown rule, ``k < 1`` or ``offset < 0``.
    """
    if rule not in SAMPLING_RULES:
        raise ValueError(f"unknown sampling rule {rule!r}: choose one of {SAMPLING_RULES}")
    if k < 1:
        raise ValueError(f"k (frames per video) must be >= 1, got {k}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    n = int(num_frames)
    if n <= 0:
        return []
    if rule == "all":
        return list(range(n))
    if rule == "every":
        return list(range(min(offset, n - 1), n, k))
    if rule == "literature":
        step = n // k
        raw = [min(offset + j * step, n - 1) for j in range(k)]
    else:
        raw = [min(int((j + 0.5) * n / k), n - 1) for j in range(k)]
    return sorted(set(raw))


@contextmanager
def _video_stream(path: str | Path, failure: str) -> Iterator[tuple[Any, Any]]:
    """Open ``path`` and yield ``(container, first video stream)``; PyAV and OS errors
    inside become :class:`VideoReadError` ``"<path>: <failure> (<error>)"``.
    """
    av = require_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path}: no video stream")
            yield container, container.streams.video[0]
    except VideoReadError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as err:
        raise VideoReadError(f"{path}: {failure} ({err})") from err


def count_frames(path: str | Path) -> int:
    """Count the frames of a video's first video stream by demuxing (no decoding).

    Args:
        path: the video.

    Returns:
        The number of non-empty video packets (frames).

    Raises:
        VideoReadError: the file cannot be opened or has no video stream.
        ImportError: PyAV is missing.
    """
    with _video_stream(path, "cannot read") as (container, stream):
        return sum(1 for packet in container.demux(stream) if packet.size > 0)


def iter_frames(
    path: str | Path, indices: Sequence[int]
) -> Iterator[tuple[int, NDArray[np.uint8], int]]:
    """Decode the frames ``indices`` (0-based, presentation order) of a video.

    Decoding is sequential and stops after the last wanted frame. Frames the decoder never
    produces (the video is shorter than its packets said) are simply not yielded.

    Args:
        path: the video.
        indices: frames to return.

    Yields:
        ``(index, image, rotation)``: ``image`` is ``(H, W, 3)`` uint8 RGB as stored,
        ``rotation`` the display rotation in degrees counter-clockwise (0 when none).

    Raises:
        VideoReadError: the file cannot be opened or decoding fails.
        ImportError: PyAV is missing.
    """
    wanted = set(int(i) for i in indices)
    if not wanted:
        return
    last = max(wanted)
    with _video_stream(path, "cannot decode") as (container, stream):
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                # Older PyAV versions have no VideoFrame.rotation: frames are taken as upright.
                rotation = round(float(getattr(frame, "rotation", 0) or 0))
                yield i, frame.to_ndarray(format="rgb24"), rotation
            if i >= last:
                break
