"""Torch datasets over preprocessed crops, returning :class:`~disentangle_fas.types.FASSample`.

:class:`CropDataset` holds the selection logic shared by :class:`ImageFolderDataset`
(decodes image files named by a manifest) and
:class:`~disentangle_fas.data.store.StoreDataset` (reads a packed uint8 array). Both
expose per-index ``labels``, ``domains`` and ``attacks`` arrays, which is what
:class:`~disentangle_fas.data.sampler.DomainBalancedBatchSampler` needs.

A ``DataLoader`` with a batch sampler reads each batch through
:meth:`CropDataset.__getitems__` (one conversion pass into one array). Fast path:
:meth:`CropDataset.read_batch` reads a whole batch at once, and with
``dtype=torch.uint8`` skips the float conversion (a quarter of the bytes to copy and move);
:class:`BatchReader` makes that a ``DataLoader`` dataset, and :func:`uint8_to_float` converts
on the device afterwards, giving exactly the values ``dataset[i]`` gives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TypedDict, Unpack

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas._io import check_regular_file
from disentangle_fas.data.manifest import ManifestEntry, read_manifest
from disentangle_fas.imaging import pil_to_rgb8
from disentangle_fas.types import FASSample

__all__ = [
    "BatchReader",
    "CropDataset",
    "CropSelection",
    "ImageFolderDataset",
    "Transform",
    "select_entries",
    "uint8_to_float",
]

#: A transform maps a ``(3, H, W)`` float image in ``[0, 1]`` to another.
Transform = Callable[[Tensor], Tensor]
DomainSpec = Sequence[str] | Mapping[str, int] | None


class CropSelection(TypedDict, total=False):
    """The selection and transform keywords of :class:`CropDataset`, for subclasses."""

    domains: DomainSpec
    splits: Collection[str] | None
    attacks: Collection[int] | None
    frames_per_video: int | None
    transform: Transform | None


def uint8_to_float(images: Tensor) -> Tensor:
    """Convert uint8 images (0-255) to float32 in ``[0, 1]``, on their device.

    The result equals the datasets' own conversion bit for bit (a float32 division by 255,
    not a multiplication by its reciprocal, which differs for 126 of the 256 values), and
    keeps the memory format: a channels-last batch from :meth:`CropDataset.read_batch`
    stays channels-last. Move a uint8 batch to the GPU first, then convert there.

    Args:
        images: uint8 tensor, e.g. a ``(B, 3, H, W)`` batch.

    Returns:
        float32 tensor of the same shape, device and strides.

    Raises:
        TypeError: ``images`` is not uint8.

    Shape:
        - Input/Output: any, e.g. ``(B, 3, H, W)``.

    Example:
        >>> uint8_to_float(torch.tensor([0, 51, 255], dtype=torch.uint8))
        tensor([0.0000, 0.2000, 1.0000])
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"uint8_to_float expects a uint8 tensor, got {images.dtype}")
    # A 0-dim divisor on the tensor's device: CUDA replaces division by a CPU scalar with a
    # multiplication by its reciprocal, which is not bit-identical.
    divisor = torch.full((), 255.0, dtype=torch.float32, device=images.device)
    return images.to(torch.float32).div_(divisor)


def _to_float_chw(array: NDArray[np.uint8]) -> Tensor:
    """``(..., H, W, 3)`` uint8 -> contiguous ``(..., 3, H, W)`` float32 ``/ 255``."""
    # Transposing the uint8 array first moves a quarter of the bytes a float transpose would.
    chw = np.ascontiguousarray(np.moveaxis(array, -1, -3))
    out = chw.astype(np.float32)
    out /= np.float32(255.0)
    return torch.from_numpy(out)


def _check_same_size(images: Sequence[NDArray[np.uint8]]) -> None:
    shapes = {img.shape for img in images}
    if len(shapes) > 1:
        raise ValueError(
            f"images of different sizes {sorted(shapes)} cannot be batched: pack the store "
            "with --size, or give ImageFolderDataset size="
        )


def _domain_index(entries: Sequence[ManifestEntry], domains: DomainSpec) -> dict[str, int]:
    if domains is None:
        return {name: i for i, name in enumerate(sorted({e.domain for e in entries}))}
    if isinstance(domains, Mapping):
        return {str(k): int(v) for k, v in domains.items()}
    if isinstance(domains, str):
        raise TypeError("domains must be a sequence of names or a mapping, not a string")
    names = list(domains)
    if len(set(names)) != len(names):
        raise ValueError(f"domains has duplicates: {names}")
    return {name: i for i, name in enumerate(names)}


def select_entries(
    entries: Sequence[ManifestEntry],
    *,
    domains: Collection[str] | None = None,
    splits: Collection[str] | None = None,
    attacks: Collection[int] | None = None,
    frames_per_video: int | None = None,
) -> list[int]:
    """Positions of the entries that pass the filters, in their original order.

    Args:
        entries: manifest entries.
        domains: keep these domain names (``None``: all).
        splits: keep these splits (``None``: all).
        attacks: keep these attack ids (0 is live; ``None``: all).
        frames_per_video: keep at most this many frames per video, spread evenly over the
            video's frames in frame order (``1`` keeps the first sampled frame).

    Returns:
        Sorted positions into ``entries``.

    Raises:
        ValueError: ``frames_per_video < 1``.
    """
    keep = [
        i
        for i, e in enumerate(entries)
        if (domains is None or e.domain in domains)
        and (splits is None or e.split in splits)
        and (attacks is None or e.attack in attacks)
    ]
    if frames_per_video is None:
        return keep
    if frames_per_video < 1:
        raise ValueError(f"frames_per_video must be >= 1, got {frames_per_video}")
    by_video: dict[str, list[int]] = {}
    for i in keep:
        by_video.setdefault(entries[i].video_id, []).append(i)
    chosen: list[int] = []
    for positions in by_video.values():
        positions.sort(key=lambda i: entries[i].frame)
        m, n = len(positions), min(frames_per_video, len(positions))
        chosen.extend(positions[(j * m) // n] for j in range(n))
    return sorted(chosen)


class CropDataset(Dataset[FASSample]):
    """Base of the crop datasets: selection, labels and sample assembly.

    Args:
        entries: all manifest entries available.
        domains: domain names to keep, in index order (``["O", "C", "I"]`` gives O -> 0,
            C -> 1, I -> 2), or a mapping name -> index; ``None`` keeps every domain,
            indexed in sorted name order.
        splits: splits to keep (``None``: all).
        attacks: attack ids to keep (0 = live; ``None``: all).
        frames_per_video: at most this many frames per video (see :func:`select_entries`).
        transform: applied to each ``(3, H, W)`` image in ``[0, 1]``.

    Raises:
        ValueError: nothing passes the filters.
    """

    def __init__(
        self,
        entries: Sequence[ManifestEntry],
        *,
        domains: DomainSpec = None,
        splits: Collection[str] | None = None,
        attacks: Collection[int] | None = None,
        frames_per_video: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        self.domain_index = _domain_index(entries, domains)
        keep = select_entries(
            entries,
            domains=set(self.domain_index),
            splits=None if splits is None else set(splits),
            attacks=None if attacks is None else set(attacks),
            frames_per_video=frames_per_video,
        )
        if not keep:
            raise ValueError(
                f"no crops left after selecting domains={sorted(self.domain_index)}, "
                f"splits={splits}, attacks={attacks} from {len(entries)} entries"
            )
        self._positions: NDArray[np.int64] = np.asarray(keep, dtype=np.int64)
        self.entries: list[ManifestEntry] = [entries[i] for i in keep]
        self.labels: NDArray[np.int64] = np.array([e.label for e in self.entries], np.int64)
        self.domains: NDArray[np.int64] = np.array(
            [self.domain_index[e.domain] for e in self.entries], np.int64
        )
        self.attacks: NDArray[np.int64] = np.array([e.attack for e in self.entries], np.int64)
        self.video_ids: list[str] = [e.video_id for e in self.entries]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.entries)

    def _image(self, index: int) -> NDArray[np.uint8]:
        """``(H, W, 3)`` uint8 RGB of selected sample ``index`` (may be a read-only view)."""
        raise NotImplementedError

    def _images(self, indices: NDArray[np.int64]) -> NDArray[np.uint8]:
        """``(B, H, W, 3)`` uint8 RGB of selected samples ``indices`` (already checked)."""
        images = [self._image(int(i)) for i in indices]
        _check_same_size(images)
        return np.stack(images)

    def _float_batch(self, indices: NDArray[np.int64]) -> Tensor:
        """``(B, 3, H, W)`` float32 ``/ 255`` of ``indices``, converted image by image
        into one output array (a whole-batch conversion runs out of cache and is slower).
        """
        images = [self._image(int(i)) for i in indices]
        _check_same_size(images)
        height, width = images[0].shape[:2]
        out = np.empty((len(images), 3, height, width), dtype=np.float32)
        for k, img in enumerate(images):
            chw = np.ascontiguousarray(img.transpose(2, 0, 1))
            np.divide(chw, np.float32(255.0), out=out[k], dtype=np.float32)
        return torch.from_numpy(out)

    def _check_indices(
        self, indices: Sequence[int] | NDArray[np.integer] | Tensor
    ) -> NDArray[np.int64]:
        if isinstance(indices, Tensor):
            indices = indices.detach().cpu().numpy()
        idx = np.asarray(indices)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"indices must be a non-empty 1-D sequence, got shape {idx.shape}")
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(f"indices must be integers, got {idx.dtype}")
        bad = idx[(idx < 0) | (idx >= len(self.entries))]
        if bad.size:
            raise IndexError(f"index {int(bad[0])} out of range for {len(self.entries)} samples")
        return idx.astype(np.int64)

    def read_batch(
        self,
        indices: Sequence[int] | NDArray[np.integer] | Tensor,
        *,
        dtype: torch.dtype = torch.float32,
    ) -> FASSample:
        """Read several samples at once, as one batched :class:`FASSample`.

        With ``dtype=torch.float32`` the result equals
        ``default_collate([self[i] for i in indices])`` (a contiguous float batch in
        ``[0, 1]``, the transform applied per image; ``video_id`` is a list where
        ``default_collate`` gives a tuple), read without per-sample copies.
        With ``dtype=torch.uint8`` the images are the stored 0-255 values as a zero-copy
        channels-last view of the gathered ``(B, H, W, 3)`` array: no conversion, a
        quarter of the bytes to move; convert on the device with :func:`uint8_to_float`
        (and ``.contiguous()`` if NCHW order is needed).

        Args:
            indices: positions ``0 <= i < len(self)`` (repeats allowed).
            dtype: ``torch.float32`` or ``torch.uint8``.

        Returns:
            ``FASSample`` with ``image`` ``(B, 3, H, W)``, ``label``, ``domain``,
            ``attack`` and ``index`` int64 ``(B,)`` tensors and ``video_id`` a list.

        Raises:
            IndexError: an index is out of range.
            ValueError: empty or not 1-D indices, another dtype, or ``uint8`` with a
                transform (transforms act on float images).
            TypeError: non-integer indices.

        Shape:
            - Output ``image``: ``(B, 3, H, W)``.
        """
        if dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
        if dtype == torch.uint8 and self.transform is not None:
            raise ValueError(
                "uint8 batches skip the transform, which acts on float images: read float32 "
                "batches, or build the dataset without a transform and apply it after "
                "uint8_to_float"
            )
        idx = self._check_indices(indices)
        if dtype == torch.uint8:
            image = torch.from_numpy(self._images(idx)).permute(0, 3, 1, 2)
        elif self.transform is None:
            image = self._float_batch(idx)
        else:
            transform = self.transform
            image = torch.stack([transform(img) for img in self._float_batch(idx)])
        entries = [self.entries[int(i)] for i in idx]
        return FASSample(
            image=image,
            label=torch.tensor([e.label for e in entries], dtype=torch.int64),
            domain=torch.from_numpy(self.domains[idx]),
            attack=torch.tensor([e.attack for e in entries], dtype=torch.int64),
            index=torch.from_numpy(idx),
            video_id=[e.video_id for e in entries],
        )

    def __getitem__(self, index: int) -> FASSample:
        """Sample ``index`` (``index`` in FASSample is this position).

        Args:
            index: ``0 <= index < len(self)``.

        Returns:
            The sample, image ``(3, H, W)`` float32 in ``[0, 1]``.

        Raises:
            IndexError: out of range.
        """
        if not 0 <= index < len(self.entries):
            raise IndexError(f"index {index} out of range for {len(self.entries)} samples")
        image = _to_float_chw(self._image(index))
        if self.transform is not None:
            image = self.transform(image)
        entry = self.entries[index]
        return FASSample(
            image=image,
            label=entry.label,
            domain=int(self.domains[index]),
            attack=entry.attack,
            index=index,
            video_id=entry.video_id,
        )

    def __getitems__(self, indices: Sequence[int]) -> list[FASSample]:
        """``[self[i] for i in indices]``, read as one batch (``DataLoader`` calls this).

        Without a transform the images are converted image by image into one batch array
        and returned as views of it, which saves ``default_collate`` a pass over scattered
        per-sample arrays; with a transform each sample is read on its own.

        Args:
            indices: positions ``0 <= i < len(self)``.

        Returns:
            One :class:`FASSample` per index, equal to ``self[i]``.

        Raises:
            IndexError: an index is out of range.
        """
        if self.transform is not None or len(indices) == 0:
            return [self[int(i)] for i in indices]
        batch = self.read_batch(indices)
        assert isinstance(batch.image, Tensor)
        return [
            FASSample(
                image=image,
                label=self.entries[i].label,
                domain=int(self.domains[i]),
                attack=self.entries[i].attack,
                index=i,
                video_id=self.entries[i].video_id,
            )
            for image, i in zip(batch.image, (int(i) for i in indices), strict=True)
        ]


class ImageFolderDataset(CropDataset):
    """Crops stored as image files, listed by a manifest (decodes with Pillow).

    Args:
        manifest: a ``manifest.jsonl`` (see :mod:`disentangle_fas.data.manifest`).
        root: folder relative paths start from (default: the manifest's folder).
        size: resize every image to ``size x size`` (``None``: keep; all must match to
            batch them).
        **kwargs: selection and transform options of :class:`CropDataset`.
    """

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        *,
        root: str | os.PathLike[str] | None = None,
        size: int | None = None,
        **selection: Unpack[CropSelection],
    ) -> None:
        path = Path(manifest)
        super().__init__(read_manifest(path), **selection)
        self.root = Path(root) if root is not None else path.parent
        self.size = size

    def _image(self, index: int) -> NDArray[np.uint8]:
        file = Path(self.entries[index].path)
        file = file if file.is_absolute() else self.root / file
        try:
            check_regular_file(file, "crop")
            with Image.open(file) as img:
                rgb = pil_to_rgb8(img)
        except (OSError, ValueError, SyntaxError) as exc:  # name the file, also from a worker
            raise ValueError(f"{file}: cannot read the crop ({exc})") from exc
        if self.size is not None and rgb.shape[:2] != (self.size, self.size):
            resized = Image.fromarray(rgb).resize((self.size, self.size), Image.Resampling.BILINEAR)
            return np.array(resized, dtype=np.uint8)
        return rgb


class BatchReader(Dataset[FASSample]):
    """Whole batches of a :class:`CropDataset`, for a ``DataLoader`` without collation.

    ``reader[indices]`` is ``dataset.read_batch(indices, dtype=dtype)``. Pass a batch
    sampler as the loader's ``sampler`` and ``batch_size=None``::

        sampler = DomainBalancedBatchSampler.from_dataset(store, 48)
        loader = DataLoader(BatchReader(store), sampler=sampler, batch_size=None)
        for batch in loader:
            images = uint8_to_float(batch.image.to("cuda", non_blocking=True))

    Args:
        dataset: the dataset to read.
        dtype: ``torch.uint8`` (default: convert on the device with
            :func:`uint8_to_float`) or ``torch.float32``.

    Raises:
        ValueError: another dtype, or ``uint8`` for a dataset with a transform.
    """

    def __init__(self, dataset: CropDataset, *, dtype: torch.dtype = torch.uint8) -> None:
        if dtype not in (torch.float32, torch.uint8):
            raise ValueError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
        if dtype == torch.uint8 and dataset.transform is not None:
            raise ValueError("uint8 batches skip transforms: use dtype=torch.float32")
        self.dataset = dataset
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: Sequence[int]) -> FASSample:
        """The batch of ``indices`` (see :meth:`CropDataset.read_batch`)."""
        return self.dataset.read_batch(indices, dtype=self.dtype)
