"""The files of a :class:`~disentangle_fas.targets.TargetCache`: its key and a read-only reader.

:class:`CacheKey` and :func:`make_fingerprint` say what a cached value depends on;
:class:`CacheReader` reads the memmapped arrays from any process (a ``DataLoader`` worker
opens its own maps). The writing side is :class:`~disentangle_fas.targets.TargetCache`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["CACHE_FILES", "CacheKey", "CacheReader", "make_fingerprint"]

#: ``(values, filled flags, metadata)`` file names inside a cache folder.
CACHE_FILES = ("targets.npy", "filled.npy", "meta.json")
_DATA, _MASK, _META = CACHE_FILES


def make_fingerprint(*parts: object) -> str:
    """Hash anything that identifies a dataset's images into a short fingerprint string.

    Args:
        parts: e.g. the bytes of a manifest file, the crop size, a dataset version.

    Returns:
        The first 16 hex digits of a SHA-256 over the parts.

    Example:
        >>> fp = make_fingerprint(b"manifest bytes", 224)
        >>> len(fp), fp == make_fingerprint(b"manifest bytes", 224), fp == make_fingerprint(224)
        (16, True, False)
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode())
        h.update(b"\x00")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class CacheKey:
    """Everything a cached value depends on; any change rebuilds the cache."""

    target_name: str
    target_version: str
    target_shape: tuple[int, int, int]
    image_size: tuple[int, int]
    dataset_fingerprint: str
    num_items: int

    def to_json(self) -> dict[str, Any]:
        """Return the key as JSON-compatible values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


class CacheReader:
    """Read-only access to a :class:`TargetCache`'s files from any process.

    The memory maps are opened lazily in the process that reads (a ``DataLoader`` worker
    opens its own), and are never pickled. Reads see entries that another process (the
    training loop) stores later, because every process maps the same files.

    Args:
        directory: the cache folder.
        shape: ``(N, C, H, W)`` of ``targets.npy``.
    """

    def __init__(self, directory: str | os.PathLike[str], shape: tuple[int, ...]) -> None:
        self.directory = Path(directory)
        self.shape = tuple(int(s) for s in shape)
        self._maps: tuple[np.ndarray, np.ndarray] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_maps"] = None
        return state

    def _open(self) -> tuple[np.ndarray, np.ndarray]:
        if self._maps is None:
            data = np.load(self.directory / _DATA, mmap_mode="r")
            mask = np.load(self.directory / _MASK, mmap_mode="r")
            if data.shape != self.shape or mask.shape != self.shape[:1]:
                raise ValueError(
                    f"target cache {self.directory} holds {data.shape}, expected {self.shape}"
                )
            self._maps = (data, mask)
        return self._maps

    def read(self, indices: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
        """Return the stored values and filled flags of ``indices``.

        The flags are read before the values, so a row flagged as filled holds its final
        value even while another process is filling the cache.

        Args:
            indices: dataset indices.

        Returns:
            ``(values, filled)``: float16 values (rows not filled hold anything) and a
            boolean mask, both CPU tensors.

        Shape:
            - indices: ``(B,)``; values: ``(B, C, H, W)``; filled: ``(B,)``.
        """
        idx = np.asarray(torch.as_tensor(indices).cpu(), dtype=np.int64)
        data, mask = self._open()
        filled = torch.from_numpy(np.asarray(mask[idx]) != 0)
        values = torch.from_numpy(np.ascontiguousarray(data[idx]))
        return values, filled
