"""Dataset helpers the task builders share: subsets that keep their parent's indices,
a resize transform, a split of videos by a hash of their ids, and a concatenation of
single-domain datasets.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.types import FASSample

__all__ = ["DomainConcat", "DomainPart", "IndexedSubset", "Resize", "split_by_video"]


class IndexedSubset(Dataset[FASSample]):
    """A subset of a dataset that keeps the parent's ``FASSample.index`` values.

    Args:
        parent: the dataset.
        indices: positions in ``parent``.
        transform: applied to each image read with ``subset[i]`` (after the parent's own);
            uint8 batches from :meth:`read_batch` skip it (apply it on the device to the
            converted batch: it is also the :attr:`batch_transform`).

    Attributes:
        batch_transform: ``transform``, for ``(B, 3, H, W)`` batches (``None``: none).
    """

    def __init__(
        self,
        parent: Dataset[FASSample],
        indices: Sequence[int] | NDArray[np.int64],
        transform: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.parent = parent
        self.indices = np.asarray(indices, dtype=np.int64)
        self.transform = transform
        self.batch_transform = transform

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int) -> FASSample:
        sample = self.parent[int(self.indices[i])]
        if self.transform is None:
            return sample
        return sample._replace(image=self.transform(sample.image))

    @property
    def reads_uint8(self) -> bool:
        """Whether :meth:`read_batch` can give uint8 batches (the parent can)."""
        return callable(getattr(self.parent, "read_batch", None)) and (
            getattr(self.parent, "transform", None) is None
        )

    def read_batch(self, indices: Sequence[int], *, dtype: torch.dtype = torch.uint8) -> FASSample:
        """Read the subset's samples ``indices`` as one batch, through the parent's reader.

        Args:
            indices: positions in the subset.
            dtype: ``torch.uint8`` (the parent's stored pixels, this subset's transform not
                applied) or ``torch.float32`` (equal to collating ``self[i]``).

        Returns:
            The batched :class:`FASSample`; ``index`` holds the parent's indices.

        Raises:
            TypeError: the parent has no uint8 batch reader (or has its own transform).

        Shape:
            - Output ``image``: ``(B, 3, H, W)``.
        """
        if not self.reads_uint8:
            raise TypeError(f"{type(self.parent).__name__} cannot read uint8 batches")
        rows = self.indices[np.asarray(indices, dtype=np.int64)]
        batch: FASSample = self.parent.read_batch(rows, dtype=torch.uint8)  # type: ignore[attr-defined]
        if dtype == torch.uint8:
            return batch
        image = uint8_to_float(batch.image.contiguous())
        if self.transform is not None:
            image = self.transform(image)
        return batch._replace(image=image)


class Resize(torch.nn.Module):
    """Resize images to ``size x size`` (bilinear, antialiased); a no-op at that size.

    Args:
        size: the output side.

    Shape:
        - Input: ``(3, H, W)`` or ``(B, 3, H, W)``; output: same with ``H = W = size``.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)

    def forward(self, image: Tensor) -> Tensor:
        """Resize ``image`` (one image or a batch)."""
        if image.shape[-1] == self.size and image.shape[-2] == self.size:
            return image
        batch = image if image.ndim == 4 else image[None]
        out = F.interpolate(
            batch, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
        )
        return out if image.ndim == 4 else out[0]


def split_by_video(
    video_ids: Sequence[str], fraction: float, salt: str = "val"
) -> NDArray[np.bool_]:
    """Mark about ``fraction`` of the videos as held out, by a stable hash of the video id.

    All frames of a video land on the same side, and the choice does not depend on the
    order or number of other videos.

    Returns:
        ``(N,)`` boolean mask, ``True`` = held out.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    cut = int(fraction * 2**32)
    return np.array([zlib.crc32(f"{salt}:{v}".encode()) < cut for v in video_ids], dtype=bool)


class DomainPart(Protocol):
    """A single-domain dataset :class:`DomainConcat` can join (the built-in benchmark's
    :class:`~disentangle_fas.synthetic.SyntheticFAS` is one): samples, their records and
    labels, stored uint8 pixels and ground-truth depth.
    """

    @property
    def labels(self) -> Any:
        """``(N,)`` labels, 1 live / 0 spoof."""

    @property
    def records(self) -> Sequence[Any]:
        """One record per sample, with ``label``, ``attack`` and ``video_id``."""

    @property
    def transform(self) -> Any:
        """The per-sample transform, ``None`` when samples are the stored pixels."""

    @property
    def image_size(self) -> int:
        """Side of the stored images."""

    def __len__(self) -> int:
        """Number of samples."""

    def __getitem__(self, index: int) -> FASSample:
        """One sample."""

    def images_uint8(self, indices: Sequence[int]) -> Any:
        """``(B, H, W, 3)`` stored pixels of several samples."""

    def depth(self, index: int) -> Tensor:
        """Ground-truth depth ``(1, H, W)`` of one sample."""


class DomainConcat(Dataset[FASSample]):
    """Concatenate single-domain datasets, numbering their domains ``0 .. S-1``.

    ``FASSample.index`` becomes the position in the concatenation (the key of per-sample
    content targets).

    Args:
        parts: one dataset per domain, in domain-index order.
    """

    def __init__(self, parts: Sequence[DomainPart]) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.labels = np.concatenate([np.asarray(p.labels, dtype=np.int64) for p in parts])
        self.domains = np.concatenate(
            [np.full(len(p), d, dtype=np.int64) for d, p in enumerate(parts)]
        )

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return part, index - int(self.offsets[part])

    def __getitem__(self, index: int) -> FASSample:
        part, local = self._locate(index)
        s = self.parts[part][local]
        return FASSample(s.image, s.label, part, s.attack, index, s.video_id)

    @property
    def reads_uint8(self) -> bool:
        """Whether :meth:`read_batch` can give uint8 batches (no part has a transform)."""
        return all(p.transform is None for p in self.parts)

    def read_batch(self, indices: Sequence[int], *, dtype: torch.dtype = torch.uint8) -> FASSample:
        """Read several samples at once as one batched :class:`FASSample`.

        With ``uint8`` the images are the stored pixels (no conversion; convert on the
        device with :func:`~disentangle_fas.data.uint8_to_float`, which gives exactly the
        values of ``self[i].image``); with ``float32`` they are converted here.

        Args:
            indices: positions in the concatenation.
            dtype: ``torch.uint8`` or ``torch.float32``.

        Returns:
            The batch: ``image`` ``(B, 3, H, W)`` (a channels-last view for uint8), int64
            ``label``, ``domain``, ``attack``, ``index`` and a list of ``video_id``.

        Raises:
            ValueError: another dtype, or a part with a transform.
            IndexError: an index out of range.
        """
        if dtype not in (torch.uint8, torch.float32):
            raise ValueError(f"dtype must be torch.uint8 or torch.float32, got {dtype}")
        if not self.reads_uint8:
            raise ValueError("batched reads skip transforms: build the parts without one")
        where = [self._locate(int(i)) for i in indices]
        height = self.parts[where[0][0]].image_size
        pixels = np.empty((len(where), height, height, 3), dtype=np.uint8)
        for part in sorted({p for p, _ in where}):
            rows = [k for k, (p, _) in enumerate(where) if p == part]
            pixels[rows] = self.parts[part].images_uint8([where[k][1] for k in rows])
        image = torch.from_numpy(pixels).permute(0, 3, 1, 2)
        if dtype == torch.float32:
            image = uint8_to_float(image.contiguous())
        records = [self.parts[p].records[local] for p, local in where]
        return FASSample(
            image=image,
            label=torch.tensor([r.label for r in records], dtype=torch.int64),
            domain=torch.tensor([p for p, _ in where], dtype=torch.int64),
            attack=torch.tensor([r.attack for r in records], dtype=torch.int64),
            index=torch.tensor([int(i) for i in indices], dtype=torch.int64),
            video_id=[r.video_id for r in records],
        )

    def depth(self, index: int) -> Tensor:
        """Ground-truth depth ``(1, H, W)`` of sample ``index``."""
        part, local = self._locate(index)
        depth: Tensor = self.parts[part].depth(local)
        return depth
