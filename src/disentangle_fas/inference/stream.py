"""Reading frames from a video file, a camera or a network stream (PyAV), with bounded memory.

* A **file** is read in order, every frame, in the caller's thread: nothing is dropped and
  nothing waits in a queue.
* A **live source** (a camera index, an ``rtsp://`` / ``http(s)://`` URL, ...) is decoded
  by a background thread that keeps only the **newest** frame: when scoring is slower than
  the source, stale frames are dropped (counted in :attr:`StreamReader.dropped`) instead
  of queueing, so memory and latency stay bounded however long the stream runs.

Frames carry their timestamp in seconds: the presentation time stamp when the container
has one, else the frame number over the frame rate (files) or the time since the stream
opened (live sources); timestamps never decrease.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.inference.errors import InputError
from disentangle_fas.inference.io import require_av

__all__ = ["Frame", "SourceKind", "StreamReader", "source_kind"]

#: What a source string names.
SourceKind = Literal["file", "camera", "url"]

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def source_kind(source: str) -> SourceKind:
    """Classify a stream source: a camera index (``"0"``), a URL (``rtsp://...``), or a file.

    Args:
        source: what the user passed.

    Returns:
        ``"camera"`` for a non-negative integer, ``"url"`` for ``scheme://...`` other than
        ``file://``, else ``"file"``.
    """
    if source.isdigit():
        return "camera"
    if _URL.match(source) and not source.lower().startswith("file://"):
        return "url"
    return "file"


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: the frame number from the start of the stream (dropped frames count).
        time: the timestamp in seconds (non-decreasing).
        image: ``(H, W, 3)`` uint8 RGB.
    """

    index: int
    time: float
    image: NDArray[np.uint8]


def _open_args(source: str, kind: SourceKind) -> tuple[str, dict[str, Any]]:
    if kind == "camera":
        if sys.platform.startswith("linux"):
            return f"/dev/video{int(source)}", {"format": "v4l2"}
        if sys.platform == "darwin":
            return source, {"format": "avfoundation"}
        raise InputError(
            "camera indices are read on Linux (v4l2) and macOS (avfoundation); on this system "
            "pass the camera's stream URL",
            source,
        )
    if kind == "url":
        options = {"rtsp_transport": "tcp"} if source.lower().startswith("rtsp") else {}
        return source, {"options": options, "timeout": 10.0}
    if source.lower().startswith("file://"):
        source = source[len("file://") :]
    if not Path(source).is_file():
        raise FileNotFoundError(f"video not found: {source}")
    return source, {}


class StreamReader:
    """Iterate over the frames of a video file, a camera or a network stream.

    Args:
        source: a video file, a camera index (``"0"``) or a URL (``rtsp://``, ``http://``).
        live: read as a live source (newest frame only, stale frames dropped); default:
            ``True`` for cameras and URLs, ``False`` for files.

    Attributes:
        kind: what ``source`` names (see :func:`source_kind`).
        dropped: frames a live source decoded that were replaced by a newer one before
            they were taken.

    Raises:
        ImportError: PyAV is not installed.
        FileNotFoundError: a file that does not exist.
        InputError: a source that cannot be opened or has no video stream.

    Example:
        >>> with StreamReader("clip.mp4") as frames:  # doctest: +SKIP
        ...     for frame in frames:
        ...         print(frame.index, frame.time, frame.image.shape)
    """

    def __init__(self, source: str | os.PathLike[str], *, live: bool | None = None) -> None:
        self.source = str(source)
        self.kind: SourceKind = source_kind(self.source)
        self.live = self.kind != "file" if live is None else bool(live)
        self.dropped = 0
        self._av = require_av()
        target, kwargs = _open_args(self.source, self.kind)
        try:
            self._container: Any = self._av.open(target, **kwargs)
            self._stream: Any = self._container.streams.video[0]
        except IndexError as exc:
            self._container.close()
            raise self._input_error("the source has no video stream") from exc
        except (self._av.FFmpegError, OSError, ValueError) as exc:
            raise self._input_error(f"cannot open the stream ({exc})") from exc
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps: float | None = float(rate) if rate else None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._latest: tuple[int, Any, float] | None = None  # (index, av frame, arrival)
        self._taken = -1
        self._error: BaseException | None = None
        self._done = False
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self._last_time = -math.inf

    def _input_error(self, message: str) -> InputError:
        """An :class:`InputError` naming the source (a file as its path; a URL or a camera
        in the message, since a path would mangle it).
        """
        if self.kind == "file":
            return InputError(message, self.source)
        return InputError(f"{self.source}: {message}")

    # --- the live source's decoding thread --------------------------------------------------

    def _decode_live(self) -> None:
        try:
            for i, frame in enumerate(self._container.decode(self._stream)):
                if self._stop.is_set():
                    break
                with self._cond:
                    if self._latest is not None and self._latest[0] > self._taken:
                        self.dropped += 1
                    self._latest = (i, frame, time.monotonic())
                    self._cond.notify()
        except BaseException as exc:  # handed to the reader's thread
            if not self._stop.is_set():
                self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def _next_live(self) -> tuple[int, Any, float] | None:
        with self._cond:
            while not self._stop.is_set():
                if self._latest is not None and self._latest[0] > self._taken:
                    item = self._latest
                    self._latest = None  # the reader holds the only reference now
                    self._taken = item[0]
                    return item
                if self._done:
                    break
                self._cond.wait(timeout=0.5)
        if self._error is not None:
            raise self._input_error(f"the stream failed ({self._error})") from self._error
        return None

    # --- frames --------------------------------------------------------------------------------

    def _frame(self, index: int, frame: Any, arrival: float) -> Frame:
        t = frame.time
        if t is None or not math.isfinite(t):
            t = index / self.fps if (self.fps and not self.live) else arrival - self._started
        t = max(float(t), self._last_time if self._last_time > -math.inf else float(t))
        self._last_time = t
        rgb = frame.to_ndarray(format="rgb24")
        turns = round(int(getattr(frame, "rotation", 0) or 0) / 90) % 4
        if turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, k=turns))
        return Frame(index, t, rgb)

    def __iter__(self) -> Iterator[Frame]:
        """Yield frames until the source ends or :meth:`close` is called.

        Raises:
            InputError: the source failed while decoding.
        """
        if self.live:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._decode_live, name="stream-decoder", daemon=True
                )
                self._thread.start()
            while (item := self._next_live()) is not None:
                yield self._frame(*item)
            return
        try:
            for i, frame in enumerate(self._container.decode(self._stream)):
                if self._stop.is_set():
                    return
                yield self._frame(i, frame, time.monotonic())
        except (self._av.FFmpegError, OSError, ValueError) as exc:
            raise self._input_error(f"the video failed while decoding ({exc})") from exc

    def close(self) -> None:
        """Stop reading and release the source (idempotent)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        if self._thread is None or not self._thread.is_alive():
            self._container.close()

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
