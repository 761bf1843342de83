"""Seed derivation: one independent random stream per (seed, key...) tuple.

Every random choice of the synthetic benchmark is drawn from a generator derived from the
user seed and a key path such as ``(split, domain, "video", 17)``, so any sample can be
generated on its own, in any order, by any worker, with the same result.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derive_rng", "key_int"]


def key_int(key: int | str) -> int:
    """Map a key part to a non-negative integer (strings through CRC-32, stable everywhere).

    Args:
        key: an integer (must be non-negative) or a string.

    Returns:
        A non-negative integer usable as seed entropy.

    Raises:
        ValueError: ``key`` is a negative integer.
    """
    if isinstance(key, str):
        return zlib.crc32(key.encode("utf-8"))
    k = int(key)
    if k < 0:
        raise ValueError(f"seed keys must be non-negative integers or strings, got {k}")
    return k


def derive_rng(seed: int, *keys: int | str) -> np.random.Generator:
    """Return a PCG64 generator determined only by ``seed`` and ``keys``.

    Args:
        seed: the user seed (non-negative).
        *keys: the key path (integers or strings).

    Returns:
        A fresh generator; equal arguments give identical streams.
    """
    entropy = [key_int(seed), *(key_int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
