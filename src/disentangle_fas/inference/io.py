"""Reading inputs: image files, PIL images, numpy arrays and videos (PyAV, optional).

Every reader returns ``(H, W, 3)`` uint8 RGB arrays. Grayscale inputs are repeated to three
channels; an alpha channel is dropped (the colour values are kept as they are).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from disentangle_fas._io import check_regular_file
from disentangle_fas.imaging import pil_to_rgb8
from disentangle_fas.inference.errors import InputError

__all__ = [
    "VIDEO_SUFFIXES",
    "ImageLike",
    "as_image_batch",
    "is_video_path",
    "load_image",
    "read_video_frames",
    "require_av",
    "sample_indices",
    "to_rgb_array",
]

#: File suffixes (lower case) read as videos; every other file is read as an image.
VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".3gp", ".wmv", ".flv"}
)

PathLike = str | os.PathLike[str]

#: A single image: a file path, a PIL image or an ``(H, W[, C])`` numpy array.
ImageLike = str | os.PathLike[str] | Image.Image | NDArray[Any]


def is_video_path(path: PathLike) -> bool:
    """Return whether ``path`` is read as a video (by its suffix, see :data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def to_rgb_array(image: Image.Image | NDArray[Any]) -> NDArray[np.uint8]:
    """Convert a PIL image or a numpy array to a contiguous ``(H, W, 3)`` uint8 RGB array.

    Accepted arrays: ``(H, W)`` grayscale, ``(H, W, 1)``, ``(H, W, 3)`` RGB and ``(H, W, 4)``
    RGBA (alpha dropped), of dtype uint8, or floating point with values in ``[0, 1]``.

    Args:
        image: the image.

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        TypeError: not a PIL image or numpy array, or an unsupported dtype.
        ValueError: an unsupported shape, an empty image, or floats outside ``[0, 1]``.
    """
    if isinstance(image, Image.Image):
        return pil_to_rgb8(image)  # 16-bit and float images with their real range
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f"expected a PIL image or a numpy array, got {type(image).__name__}; "
            "pass tensors of shape (B, 3, H, W) in [0, 1] as a batch"
        )
    arr = image
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        hint = " (channels-first? use arr.transpose(1, 2, 0))" if arr.ndim == 3 else ""
        raise ValueError(
            f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array, got shape "
            f"{arr.shape}{hint}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"empty image of shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
            raise ValueError("floating-point images must hold finite values in [0, 1]")
        arr = np.round(arr * 255.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise TypeError(f"expected a uint8 (or float in [0, 1]) array, got dtype {arr.dtype}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def as_image_batch(batch: Tensor) -> Tensor:
    """Check a ``(B, 3, H, W)`` image batch and return it as float in ``[0, 1]``.

    Args:
        batch: float in ``[0, 1]``, or uint8 in ``[0, 255]`` (divided by 255).

    Returns:
        The float batch (the input itself when it already is one).

    Raises:
        TypeError: not a tensor.
        ValueError: wrong shape or dtype, or float values outside ``[0, 1]``.

    Shape:
        - Input/Output: ``(B, 3, H, W)``.
    """
    if not isinstance(batch, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(batch).__name__}")
    if batch.ndim != 4 or batch.shape[1] != 3:
        hint = " (one image? use x.unsqueeze(0))" if batch.ndim == 3 else ""
        raise ValueError(f"expected a (B, 3, H, W) batch, got shape {tuple(batch.shape)}{hint}")
    if batch.dtype == torch.uint8:
        return batch.float() / 255.0
    if not batch.is_floating_point():
        raise ValueError(f"expected a float (or uint8) tensor, got {batch.dtype}")
    if batch.numel() and (
        not bool(torch.isfinite(batch).all()) or batch.min() < 0 or batch.max() > 1
    ):
        raise ValueError("image tensors must hold finite values in [0, 1]")
    return batch


def load_image(path: PathLike) -> NDArray[np.uint8]:
    """Read an image file as ``(H, W, 3)`` uint8 RGB, honouring its EXIF orientation.

    Args:
        path: the image file (any format Pillow reads).

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        FileNotFoundError: no such file.
        InputError: the file is not a readable image (corrupt, truncated, another format).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"image not found: {p}")
    check_regular_file(p, "image")  # a FIFO would block, a device never end
    try:
        with Image.open(p) as img:
            img.load()
            oriented: Image.Image = img
            try:  # Pillow >= 9.4 turns the image in place: one full-size copy fewer
                ImageOps.exif_transpose(img, in_place=True)
            except TypeError:  # pragma: no cover - older Pillow
                oriented = ImageOps.exif_transpose(img) or img
            return to_rgb_array(oriented)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        OSError,
        SyntaxError,
        ValueError,
    ) as exc:
        # Pillow's messages often end with the path, which InputError already names.
        detail = str(exc).replace(repr(str(p)), "").replace(str(p), "").strip(" :")
        raise InputError(f"not a readable image ({detail or type(exc).__name__})", p) from exc


def require_av() -> Any:
    """Import PyAV or raise an ImportError naming the extra to install (shared with
    :func:`disentangle_fas.data.video.require_av`).

    Returns:
        The ``av`` module.

    Raises:
        ImportError: PyAV is not installed.
    """
    from disentangle_fas.data.video import require_av as _require_av

    return _require_av()


def sample_indices(num_frames: int, k: int) -> list[int]:
    """Return ``k`` frame indices spread evenly over a video: ``floor((j + 0.5) * n / k)``.

    These are the centres of ``k`` equal parts; a video shorter than ``k`` frames gives
    every frame.

    Args:
        num_frames: number of frames ``n`` (>= 0).
        k: number of frames wanted (>= 1).

    Returns:
        Sorted distinct indices in ``[0, n)``.

    Raises:
        ValueError: ``k < 1`` or ``num_frames < 0``.
    """
    if k < 1:
        raise ValueError(f"the number of frames to sample must be >= 1, got {k}")
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    if num_frames <= k:
        return list(range(num_frames))
    return [(2 * j + 1) * num_frames // (2 * k) for j in range(k)]


def _orient(image: NDArray[np.uint8], rotation: int) -> NDArray[np.uint8]:
    turns = round(rotation / 90) % 4
    return image if turns == 0 else np.ascontiguousarray(np.rot90(image, k=turns))


def _count_frames(av: Any, path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.frames:
            return int(stream.frames)
        return sum(1 for packet in container.demux(stream) if packet.size)


def read_video_frames(path: PathLike, num_frames: int) -> tuple[list[int], list[NDArray[np.uint8]]]:
    """Decode ``num_frames`` evenly spread frames of a video (see :func:`sample_indices`).

    The frame count comes from the container, or from counting packets when the container
    does not store it. Frames are rotated by the stream's display rotation. If the video has
    fewer decodable frames than announced, the frames that were decoded are returned.

    Args:
        path: the video file.
        num_frames: how many frames to sample (>= 1).

    Returns:
        ``(indices, frames)``: frame numbers and ``(H, W, 3)`` uint8 RGB frames.

    Raises:
        ImportError: PyAV is not installed.
        FileNotFoundError: no such file.
        InputError: the file is not a readable video, or no frame could be decoded.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"video not found: {p}")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    av = require_av()
    indices: list[int] = []
    frames: list[NDArray[np.uint8]] = []
    try:
        wanted = sample_indices(_count_frames(av, p), num_frames)
        if wanted:
            keep = set(wanted)
            with av.open(str(p)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for i, frame in enumerate(container.decode(stream)):
                    if i in keep:
                        rgb = frame.to_ndarray(format="rgb24")
                        frames.append(_orient(rgb, int(getattr(frame, "rotation", 0) or 0)))
                        indices.append(i)
                    if i >= wanted[-1]:
                        break
    except IndexError as exc:
        raise InputError("the file has no video stream", p) from exc
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise InputError(f"not a readable video ({exc})", p) from exc
    if not frames:
        raise InputError("no frame could be decoded", p)
    return indices, frames
