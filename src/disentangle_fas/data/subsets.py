"""Dataset helpers the task builders share: subsets that keep their parent's indices,
a resize transform, hold-outs chosen by a stable hash (of videos, of any groups, of
subjects with a per-video fallback), and a concatenation of single-domain datasets.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.types import FASSample

__all__ = [
    "DomainConcat",
    "DomainPart",
    "HoldOutKind",
    "IndexedSubset",
    "Resize",
    "SubjectItem",
    "split_by_group",
    "split_by_subject",
    "split_by_video",
]

#: How :func:`split_by_subject` held samples out: ``"subject"`` (every sample by subject),
#: ``"video"`` (every sample by video: no subjects known) or ``"subject+video"`` (samples
#: with a subject by subject, the others by video).
HoldOutKind = Literal["subject", "video", "subject+video"]


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


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")


def split_by_video(
    video_ids: Sequence[str], fraction: float, salt: str = "val"
) -> NDArray[np.bool_]:
    """Mark about ``fraction`` of the videos as held out, by a stable hash of the video id.

    All frames of a video land on the same side, and the choice does not depend on the
    order or number of other videos. Nothing guarantees a non-empty hold-out on few
    videos: :func:`split_by_group` does, and :func:`split_by_subject` (what the store
    tasks use) also keeps the people of the two sides apart.

    Args:
        video_ids: ``(N,)`` video id of every sample.
        fraction: the expected share of videos held out, in ``(0, 1)``.
        salt: mixed into the hash.

    Returns:
        ``(N,)`` boolean mask, ``True`` = held out.

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)``.
    """
    _check_fraction(fraction)
    cut = int(fraction * 2**32)
    return np.array([zlib.crc32(f"{salt}:{v}".encode()) < cut for v in video_ids], dtype=bool)


def _group_hash(salt: str, group: str) -> int:
    """A 64-bit hash of ``salt`` and ``group``, the same in every process and run."""
    digest = hashlib.blake2b(f"{salt}:{group}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_by_group(groups: Sequence[str], fraction: float, salt: str = "val") -> NDArray[np.bool_]:
    """Hold out about ``fraction`` of the distinct groups, each with all of its samples.

    The ``G`` distinct group ids are ranked by a stable hash of ``salt`` and the id
    (BLAKE2b: independent of Python's hash seed, of the order of the samples and of how
    many samples a group has), and the first ``k`` are held out, ``k`` being
    ``fraction * G`` rounded to the nearest integer and kept within ``1 .. G - 1``: with at
    least two groups the hold-out is never empty and never everything. With a single
    group nothing is held out.

    Args:
        groups: ``(N,)`` group id of every sample (a subject, a video, ...); samples with
            the same id land on the same side.
        fraction: the share of groups to hold out, in ``(0, 1)``.
        salt: mixed into the hash; another salt draws another hold-out.

    Returns:
        ``(N,)`` boolean mask, ``True`` = held out.

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)``.

    Example:
        >>> mask = split_by_group(["a", "a", "b", "c", "c"], 0.4)
        >>> bool(mask[0] == mask[1] and mask[3] == mask[4]), int(mask.sum()) in (1, 2)
        (True, True)
    """
    _check_fraction(fraction)
    ids = [str(g) for g in groups]
    distinct = sorted(set(ids))
    count = len(distinct)
    if count < 2:
        return np.zeros(len(ids), dtype=bool)
    k = min(max(int(np.floor(fraction * count + 0.5)), 1), count - 1)
    ranked = sorted(distinct, key=lambda g: (_group_hash(salt, g), g))
    held = set(ranked[:k])
    return np.array([g in held for g in ids], dtype=bool)


class SubjectItem(Protocol):
    """What :func:`split_by_subject` reads of a sample: a store's
    :class:`~disentangle_fas.data.manifest.ManifestEntry` (``StoreDataset.entries``), a
    :class:`~disentangle_fas.data.records.Record`, or anything with these attributes.
    """

    @property
    def domain(self) -> str:
        """Dataset short name."""

    @property
    def subject(self) -> str | None:
        """Person id, unique within the domain; empty or ``None`` when unknown."""

    @property
    def video_id(self) -> str:
        """Id shared by the frames of one video."""


def split_by_subject(
    items: Sequence[SubjectItem], fraction: float, salt: str = "val"
) -> tuple[NDArray[np.bool_], HoldOutKind]:
    """Hold out about ``fraction`` of the subjects, each with all of its videos.

    A subject is keyed by its domain and its id, so subject ``"001"`` of one dataset and
    subject ``"001"`` of another are different people. Samples without a subject (an
    empty or ``None`` id) are held out by video instead (:func:`split_by_group` over
    their ``(domain, video_id)``), on their own: about ``fraction`` of those videos. When
    fewer than two subjects are known, every sample is held out by video. Each side is
    chosen by :func:`split_by_group`, so the choice is deterministic, and with at least
    two subjects (or videos) neither side is empty.

    Args:
        items: ``(N,)`` samples' metadata, e.g. ``StoreDataset(...).entries``.
        fraction: the share of subjects (and of subject-less videos) to hold out, in
            ``(0, 1)``.
        salt: mixed into the hash; another salt draws another hold-out.

    Returns:
        ``(N,)`` boolean mask (``True`` = held out) and how it was chosen:
        ``"subject"``, ``"video"`` or ``"subject+video"`` (see :data:`HoldOutKind`).

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)``.
    """
    _check_fraction(fraction)
    subjects = [("" if it.subject is None else str(it.subject)).strip() for it in items]
    known = np.array([bool(s) for s in subjects], dtype=bool)
    if len({(it.domain, s) for it, s, k in zip(items, subjects, known, strict=True) if k}) < 2:
        known[:] = False
    groups = [
        json.dumps(["subject", it.domain, s] if k else ["video", it.domain, it.video_id])
        for it, s, k in zip(items, subjects, known, strict=True)
    ]
    held = np.zeros(len(groups), dtype=bool)
    for side in (known, ~known):
        positions = np.flatnonzero(side)
        if positions.size:
            held[positions] = split_by_group([groups[i] for i in positions], fraction, salt)
    kind: HoldOutKind
    if known.all():
        kind = "subject"
    elif known.any():
        kind = "subject+video"
    else:
        kind = "video"
    return held, kind


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
