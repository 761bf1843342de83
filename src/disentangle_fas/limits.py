"""Bounds on what one request may ask of memory, estimated before anything is allocated
(torch-free: checked by option parsing and image cropping too).
"""

from __future__ import annotations

import math
import os

from disentangle_fas.errors import UsageError

__all__ = [
    "DEFAULT_MEMORY_LIMIT_GB",
    "MEMORY_LIMIT_ENV",
    "MemoryLimitError",
    "check_memory",
    "inference_bytes",
    "memory_limit",
]

#: Environment variable: the most memory (GB, decimal) one request may ask for.
MEMORY_LIMIT_ENV = "DISENTANGLE_FAS_MEMORY_LIMIT_GB"
#: Default of :data:`MEMORY_LIMIT_ENV`.
DEFAULT_MEMORY_LIMIT_GB = 2.0


class MemoryLimitError(UsageError):
    """A request would ask for more memory than :func:`memory_limit` allows (exit code 2)."""


def memory_limit() -> int:
    """The most bytes one request may ask for: :data:`MEMORY_LIMIT_ENV` (GB) or
    :data:`DEFAULT_MEMORY_LIMIT_GB`.

    Raises:
        UsageError: the variable is set but not a positive number.
    """
    raw = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if not raw:
        return int(DEFAULT_MEMORY_LIMIT_GB * 1e9)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{MEMORY_LIMIT_ENV}={raw!r}: must be a positive number of GB")
    return int(value * 1e9)


def inference_bytes(image_size: int, batch: int = 1, canvas: int = 0) -> int:
    """Estimate the peak memory of scoring ``batch`` images of side ``image_size``.

    The estimate follows the library's backbones: the largest activation is the stem's
    64-channel map at half the input side, held with its normalised copy and the next
    layer's output (three float32 maps), beside the input itself; ``canvas`` adds a
    crop's RGB canvas of that side (uint8 and float32 copies).

    Args:
        image_size: the model's input side.
        batch: images scored at once.
        canvas: side of a crop canvas made before resizing (0: none).

    Returns:
        Bytes.
    """
    half = (image_size + 1) // 2
    per_image = 3 * 64 * half * half * 4 + 3 * image_size * image_size * 4
    return batch * per_image + canvas * canvas * 3 * 5


def check_memory(needed: int, what: str) -> None:
    """Refuse a request whose estimated memory exceeds :func:`memory_limit`.

    Args:
        needed: estimated bytes.
        what: the request, for the message.

    Raises:
        MemoryLimitError: one line with the estimate, the limit and how to raise it.
    """
    limit = memory_limit()
    if needed > limit:
        raise MemoryLimitError(
            f"{what} would need about {needed / 1e9:.1f} GB, above the limit of "
            f"{limit / 1e9:.1f} GB: refused before allocating (raise it with "
            f"{MEMORY_LIMIT_ENV}=<GB> if this is intended)"
        )
