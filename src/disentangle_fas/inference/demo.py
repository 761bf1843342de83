"""Moving-face videos from the synthetic benchmark: try streams and time them without a camera.

:func:`moving_face_frames` pastes one rendered synthetic face (live or an attack) onto a
plain frame and moves it along a smooth path, with sensor noise per frame, and returns
the true face box of every frame; :func:`write_video` encodes frames with PyAV. The faces
are the synthetic benchmark's: MTCNN and OpenCV's cascade find them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.inference.io import require_av
from disentangle_fas.synthetic import SampleKey, render_sample
from disentangle_fas.types import Box

__all__ = ["MovingFace", "moving_face_frames", "write_video"]


@dataclass(frozen=True)
class MovingFace:
    """One frame of a synthetic moving-face video.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        box: the face's true box ``(x0, y0, x1, y1)`` in frame pixels.
    """

    image: NDArray[np.uint8]
    box: Box


def moving_face_frames(
    num_frames: int,
    *,
    width: int = 640,
    height: int = 480,
    face_side: int = 160,
    attack: int = 0,
    seed: int = 0,
    speed: float = 1.0,
    noise: float = 2.0,
) -> Iterator[MovingFace]:
    """Yield frames of a synthetic face moving on a Lissajous path over a plain background.

    Args:
        num_frames: frames to yield.
        width: frame width in pixels.
        height: frame height in pixels.
        face_side: side of the rendered face sample pasted into the frame.
        attack: the synthetic attack id (0 live, 1 print, 2 replay, 3 mask).
        seed: the sample's seed (which person, which scene).
        speed: path speed; 1 crosses the free area in about 2 seconds at 30 fps.
        noise: standard deviation of the per-frame sensor noise, in grey levels.

    Yields:
        :class:`MovingFace` frames with their true face boxes.

    Raises:
        ValueError: a frame smaller than the face, or a non-positive count.
    """
    if num_frames < 1 or face_side < 16 or width < face_side or height < face_side:
        raise ValueError(
            "need num_frames >= 1 and a frame at least face_side (>= 16) wide and high"
        )
    sample = render_sample(SampleKey(seed, "demo", 0, seed, seed, 0, attack), face_side)
    ys, xs = np.nonzero(sample.face)
    face_box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    patch = sample.image.astype(np.float32)
    background = np.full((height, width, 3), 96.0, dtype=np.float32)
    rng = np.random.default_rng(seed)
    free_x, free_y = width - face_side, height - face_side
    for i in range(num_frames):
        phase = 2 * math.pi * speed * i / 120
        x = round(free_x * (0.5 + 0.5 * math.sin(phase)))
        y = round(free_y * (0.5 + 0.5 * math.sin(1.5 * phase + 0.5)))
        frame = background.copy()
        frame[y : y + face_side, x : x + face_side] = patch
        if noise > 0:
            frame += rng.normal(0.0, noise, frame.shape).astype(np.float32)
        image = np.clip(frame, 0, 255).astype(np.uint8)
        x0, y0, x1, y1 = face_box
        yield MovingFace(image, (x0 + x, y0 + y, x1 + x, y1 + y))


def write_video(
    path: str | os.PathLike[str],
    frames: Sequence[NDArray[np.uint8]] | Iterator[NDArray[np.uint8]],
    *,
    fps: int = 30,
    codec: str = "mpeg4",
) -> Path:
    """Encode ``(H, W, 3)`` uint8 RGB frames (even sides) into a video file with PyAV.

    Args:
        path: the destination (its suffix picks the container: ``.mp4``, ``.avi``, ...).
        frames: the frames, all of one size.
        fps: frames per second.
        codec: the encoder (``mpeg4`` ships with every FFmpeg build).

    Returns:
        The path written.

    Raises:
        ImportError: PyAV is not installed.
        ValueError: no frames.
    """
    av = require_av()
    dest = Path(path)
    out = None
    with av.open(str(dest), mode="w") as container:
        for image in frames:
            if out is None:
                out = container.add_stream(codec, rate=Fraction(fps, 1))
                out.height, out.width = image.shape[:2]
                out.pix_fmt = "yuv420p"
                out.options = {"qscale": "3"}
            for packet in out.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        if out is None:
            raise ValueError("write_video needs at least one frame")
        for packet in out.encode():
            container.mux(packet)
    return dest
