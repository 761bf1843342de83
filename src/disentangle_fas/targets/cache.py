"""On-disk cache of a content target, so the teacher runs once per training image.

A :class:`TargetCache` lives in one directory with three files:

* ``targets.npy`` -- float16 ``(N, C, H, W)`` numpy array, opened as a memmap;
* ``filled.npy`` -- uint8 ``(N,)`` memmap, 1 where ``targets.npy`` holds a value;
* ``meta.json`` -- the key (target name, version and shape, image size, dataset
  fingerprint, ``N``), the array shape and dtype, and the two file names.

Entries are keyed by image identity: the dataset index together with the dataset
fingerprint. If any part of the key differs from the stored one, the three files are
replaced by empty ones (the cache is rebuilt). Values are flushed to disk before their
``filled`` flags are set and flushed, so an interrupted fill leaves a consistent cache
that the next run resumes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sized
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from disentangle_fas._io import atomic_write_text
from disentangle_fas.targets.base import ContentTarget, check_indices
from disentangle_fas.targets.cache_files import (
    CACHE_FILES,
    CacheKey,
    CacheReader,
    make_fingerprint,
)

__all__ = ["CacheKey", "CacheReader", "TargetCache", "make_fingerprint"]

_log = logging.getLogger(__name__)
_FORMAT = 1
_DATA, _MASK, _META = CACHE_FILES
_FP16_MAX = float(np.finfo(np.float16).max)


def _unpack(batch: Any) -> tuple[Tensor, Tensor | None]:
    if hasattr(batch, "image") and hasattr(batch, "index"):
        return batch.image, torch.as_tensor(batch.index)
    if isinstance(batch, Tensor):
        return batch, None
    if isinstance(batch, (list, tuple)) and batch and isinstance(batch[0], Tensor):
        return batch[0], None
    raise TypeError(
        "cannot find images in the dataset's batches: expected FASSample-like items "
        f"(with .image and .index), tensors, or tuples starting with the image; got {type(batch)}"
    )


class TargetCache:
    """Memmapped fp16 cache of ``target(image)`` per dataset index (a :class:`TargetProvider`).

    Use it as the training loop's target provider: ``cache(images, indices)`` returns the
    stored targets and computes (and stores) only the missing ones -- lazy filling. Or fill
    it up front with :meth:`fill`. Returned values are the stored float16 values as
    float32, whether just computed or read back, so results do not depend on when an entry
    was filled.

    Caching assumes each index always maps to the same image: compute targets from the
    un-augmented image (and apply geometric augmentations to image and target together).

    Args:
        directory: folder for the cache files (created if needed); only the three cache
            files in it are ever written or replaced.
        target: the image-based content target to cache.
        num_items: ``N``, the dataset length; indices are ``0 .. N-1``.
        image_size: ``(H, W)`` of the images given to the target.
        dataset_fingerprint: a string that changes whenever the images behind the indices
            change (see :func:`make_fingerprint`).

    Attributes:
        key: the :class:`CacheKey`.
        rebuilt: ``True`` if opening created new, empty files (no cache, or a different key).

    Shape:
        - images: ``(B, 3, H, W)``; indices: ``(B,)``; output ``(B, C, H', W')`` float32.
    """

    #: Called with ``(images, indices)``: a :class:`~disentangle_fas.targets.TargetProvider`.
    takes_indices = True

    def __init__(
        self,
        directory: str | os.PathLike[str],
        target: ContentTarget,
        *,
        num_items: int,
        image_size: tuple[int, int],
        dataset_fingerprint: str,
    ) -> None:
        if num_items <= 0:
            raise ValueError(f"num_items must be positive, got {num_items}")
        if not isinstance(dataset_fingerprint, str) or not dataset_fingerprint:
            raise ValueError("dataset_fingerprint must be a non-empty string")
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.target = target
        size = (int(image_size[0]), int(image_size[1]))
        shape = tuple(int(s) for s in target.output_shape(size))
        if len(shape) != 3 or min(shape) <= 0:
            raise ValueError(f"target.output_shape must be (C, H, W) > 0, got {shape}")
        self.key = CacheKey(
            target_name=str(target.name),
            target_version=str(target.version),
            target_shape=(shape[0], shape[1], shape[2]),
            image_size=size,
            dataset_fingerprint=dataset_fingerprint,
            num_items=int(num_items),
        )
        self.name = self.key.target_name
        self.version = self.key.target_version
        self.rebuilt = False
        self._data: np.memmap[Any, np.dtype[np.float16]]
        self._mask: np.memmap[Any, np.dtype[np.uint8]]
        if not self._try_open():
            self._create()

    @classmethod
    def for_dataset(
        cls,
        directory: str | os.PathLike[str],
        target: ContentTarget,
        dataset: Dataset[Any],
        *,
        dataset_fingerprint: str | None = None,
    ) -> TargetCache:
        """Open a cache for ``dataset``: ``N`` is its length, the image size its first image's.

        Args:
            directory: cache folder.
            target: the target to cache.
            dataset: a sized dataset returning ``FASSample``-like items or image tensors.
            dataset_fingerprint: defaults to ``dataset.fingerprint`` (a string or a
                method returning one).

        Returns:
            The cache.

        Raises:
            ValueError: no fingerprint given and the dataset has none; empty dataset.
        """
        fp: Any = dataset_fingerprint or getattr(dataset, "fingerprint", None)
        if callable(fp):
            fp = fp()
        if not isinstance(fp, str) or not fp:
            raise ValueError(
                "pass dataset_fingerprint: a string that changes whenever the dataset's "
                "images change (e.g. make_fingerprint(manifest_bytes, crop_size)); "
                f"{type(dataset).__name__} has no 'fingerprint' attribute"
            )
        if not isinstance(dataset, Sized) or len(dataset) == 0:
            raise ValueError("dataset must be sized and non-empty")
        image, _ = _unpack(dataset[0])
        size = (int(image.shape[-2]), int(image.shape[-1]))
        return cls(directory, target, num_items=len(dataset), image_size=size,
                   dataset_fingerprint=fp)  # fmt: skip

    # ------------------------------------------------------------------ files
    @property
    def _paths(self) -> tuple[Path, Path, Path]:
        d = self.directory
        return d / _DATA, d / _MASK, d / _META

    def _array_shape(self) -> tuple[int, ...]:
        return (self.key.num_items, *self.key.target_shape)

    def _try_open(self) -> bool:
        data_p, mask_p, meta_p = self._paths
        try:
            meta = json.loads(meta_p.read_text())
        except (OSError, ValueError):
            return False
        if meta.get("format") != _FORMAT or meta.get("key") != self.key.to_json():
            _log.info("target cache %s: key changed, rebuilding", self.directory)
            return False
        try:
            data = np.load(data_p, mmap_mode="r+")
            mask = np.load(mask_p, mmap_mode="r+")
        except (OSError, ValueError):
            return False
        if (
            data.shape != self._array_shape()
            or data.dtype != np.float16
            or mask.shape != (self.key.num_items,)
            or mask.dtype != np.uint8
        ):
            return False
        self._data, self._mask = data, mask
        return True

    def _create(self) -> None:
        data_p, mask_p, meta_p = self._paths
        meta_p.unlink(missing_ok=True)  # first, so a crash mid-rebuild leaves no stale key
        # New files (new inodes) rather than truncating: memmaps still open elsewhere on the
        # old files stay valid instead of faulting.
        data_p.unlink(missing_ok=True)
        mask_p.unlink(missing_ok=True)
        fmt = np.lib.format
        self._data = fmt.open_memmap(data_p, mode="w+", dtype=np.float16, shape=self._array_shape())
        self._mask = fmt.open_memmap(mask_p, mode="w+", dtype=np.uint8, shape=(self.key.num_items,))
        self._mask[:] = 0
        self._data.flush()
        self._mask.flush()
        meta = {
            "format": _FORMAT,
            "key": self.key.to_json(),
            "shape": list(self._array_shape()),
            "dtype": "float16",
            "data_file": _DATA,
            "mask_file": _MASK,
        }
        atomic_write_text(meta_p, json.dumps(meta, indent=2))
        self.rebuilt = True

    # ------------------------------------------------------------------ state
    @property
    def num_items(self) -> int:
        """``N``."""
        return self.key.num_items

    @property
    def filled(self) -> np.ndarray:
        """Boolean copy of the filled mask, ``(N,)``."""
        return np.asarray(self._mask, dtype=bool).copy()

    @property
    def num_filled(self) -> int:
        """Number of cached entries."""
        return int(np.count_nonzero(self._mask))

    @property
    def complete(self) -> bool:
        """Whether every entry is cached."""
        return self.num_filled == self.num_items

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return the cached target's ``(C, H', W')``."""
        return self.key.target_shape

    # ------------------------------------------------------------------ read / write
    def _store(self, indices: np.ndarray, values: Tensor) -> None:
        vals = values.detach().to("cpu", torch.float32).numpy()
        if vals.shape != (len(indices), *self.key.target_shape):
            raise ValueError(
                f"target {self.name!r} returned {vals.shape}, expected "
                f"{(len(indices), *self.key.target_shape)}"
            )
        if not np.isfinite(vals).all() or np.abs(vals).max(initial=0.0) > _FP16_MAX:
            raise ValueError(
                f"target {self.name!r} produced values that float16 cannot store "
                "(non-finite or beyond 65504); normalise the target"
            )
        self._data[indices] = vals.astype(np.float16)
        self._data.flush()
        self._mask[indices] = 1
        self._mask.flush()

    def put(self, indices: Tensor | np.ndarray, values: Tensor) -> Tensor:
        """Store computed targets and return them as the cache gives them back.

        Use it to fill entries from targets computed elsewhere (on the training device,
        say) with :attr:`target`; the values are flushed before their ``filled`` flags.

        Args:
            indices: dataset indices of the values (repeats allowed, with equal values).
            values: ``target(images)`` of those indices, on any device.

        Returns:
            The float16-rounded values as float32 on ``values.device``: what
            :meth:`lookup` returns for these indices from now on.

        Shape:
            - indices: ``(B,)``; values and output: ``(B, C, H', W')``.

        Raises:
            ValueError: bad indices, a wrong shape, or values float16 cannot hold.
        """
        idx = check_indices(torch.as_tensor(indices), values.shape[0], self.num_items).numpy()
        self._store(idx, values)
        return values.detach().to(torch.float16).to(torch.float32)

    def reader(self) -> CacheReader:
        """A picklable read-only view of the cache files, for ``DataLoader`` workers.

        Returns:
            A :class:`CacheReader` on this cache's directory and shape.
        """
        return CacheReader(self.directory, self._array_shape())

    def lookup(self, indices: Tensor) -> Tensor:
        """Return cached targets without computing anything.

        Args:
            indices: dataset indices.

        Returns:
            Float32 CPU tensor.

        Shape:
            - indices: ``(B,)``; output: ``(B, C, H', W')``.

        Raises:
            KeyError: some indices are not cached yet.
        """
        idx = check_indices(indices, int(torch.as_tensor(indices).numel()), self.num_items).numpy()
        missing = idx[self._mask[idx] == 0]
        if missing.size:
            raise KeyError(f"indices not cached yet: {sorted(set(missing.tolist()))[:10]}")
        return torch.from_numpy(np.asarray(self._data[idx])).float()

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        """Return the targets of a batch, computing and storing the missing ones.

        Args:
            images: the batch, RGB in ``[0, 1]`` (the target runs on the missing ones).
            indices: its dataset indices.

        Returns:
            Float32 targets (float16-rounded) on ``images.device``, no gradient.

        Shape:
            - images: ``(B, 3, H, W)``; indices: ``(B,)``; output ``(B, C, H', W')``.

        Raises:
            ValueError: image size differs from the cache's, or bad indices.
        """
        if images.ndim != 4 or tuple(images.shape[-2:]) != self.key.image_size:
            raise ValueError(
                f"cache {self.directory} holds targets of {self.key.image_size} images, "
                f"got a batch of shape {tuple(images.shape)}"
            )
        idx = check_indices(indices, images.shape[0], self.num_items).numpy()
        missing = np.flatnonzero(self._mask[idx] == 0)
        if missing.size:
            uniq, first = np.unique(idx[missing], return_index=True)
            rows = torch.from_numpy(missing[first]).to(images.device)
            self._store(uniq, self.target(images.index_select(0, rows)))
        out = torch.from_numpy(np.asarray(self._data[idx])).float()
        return out.to(images.device)

    def fill(
        self,
        dataset: Dataset[Any],
        batch_size: int = 16,
        *,
        num_workers: int = 0,
        device: torch.device | str | None = None,
        progress: bool = True,
    ) -> int:
        """Compute every missing entry from ``dataset`` (resumes a partial fill).

        Args:
            dataset: the dataset the cache was opened for; item ``i`` must be the image
                of index ``i`` (``FASSample.index == i`` when present).
            batch_size: teacher batch size.
            num_workers: ``DataLoader`` workers for reading images.
            device: where to run the teacher (e.g. ``"cuda"``); ``None`` keeps the CPU.
            progress: show a tqdm progress bar.

        Returns:
            The number of entries computed.

        Raises:
            ValueError: the dataset's length, image size or indices do not match.
        """
        from tqdm.auto import tqdm

        if not isinstance(dataset, Sized) or len(dataset) != self.num_items:
            size = len(dataset) if isinstance(dataset, Sized) else "unknown"
            raise ValueError(f"cache has {self.num_items} entries, dataset has {size}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        missing = np.flatnonzero(np.asarray(self._mask) == 0)
        if missing.size == 0:
            return 0
        loader = DataLoader(
            Subset(dataset, missing.tolist()),
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
        )
        done = 0
        with tqdm(total=int(missing.size), disable=not progress, unit="img",
                  desc=f"caching {self.name}") as bar:  # fmt: skip
            for batch in loader:
                images, idx = _unpack(batch)
                expected = missing[done : done + images.shape[0]]
                if idx is not None and not np.array_equal(idx.cpu().numpy(), expected):
                    raise ValueError(
                        "dataset item i must have index i: got indices "
                        f"{idx.tolist()[:8]} at positions {expected.tolist()[:8]}"
                    )
                if tuple(images.shape[-2:]) != self.key.image_size:
                    raise ValueError(
                        f"cache expects {self.key.image_size} images, dataset gives "
                        f"{tuple(images.shape[-2:])}"
                    )
                if device is not None:
                    images = images.to(device)
                self._store(expected, self.target(images))
                done += len(expected)
                bar.update(len(expected))
        return done

    def flush(self) -> None:
        """Flush both memmaps to disk."""
        self._data.flush()
        self._mask.flush()

    def close(self) -> None:
        """Flush and release the memmaps; the object is unusable afterwards."""
        self.flush()
        del self._data, self._mask

    def __enter__(self) -> TargetCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"TargetCache({str(self.directory)!r}, target={self.name!r}, "
            f"filled={self.num_filled}/{self.num_items})"
        )
