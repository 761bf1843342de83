"""Torch datasets over preprocessed crops, returning :class:`~disentangle_fas.types.FASSample`.

:class:`CropDataset` holds the selection logic shared by :class:`ImageFolderDataset`
(decodes image files named by a manifest) and
:class:`~disentangle_fas.data.store.StoreDataset` (reads a packed uint8 array). Both
expose per-index ``labels``, ``domains`` and ``attacks`` arrays, which is what
:class:`~disentangle_fas.data.sampler.DomainBalancedBatchSampler` needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.manifest import ManifestEntry, read_manifest
from disentangle_fas.types import FASSample

__all__ = ["CropDataset", "ImageFolderDataset", "Transform", "select_entries"]

#: A transform maps a ``(3, H, W)`` float image in ``[0, 1]`` to another.
Transform = Callable[[Tensor], Tensor]
DomainSpec = Sequence[str] | Mapping[str, int] | None


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
        """``(H, W, 3)`` uint8 RGB of selected sample ``index``."""
        raise NotImplementedError

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
        array = self._image(index)
        chw = np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)
        image = torch.from_numpy(chw / np.float32(255.0))
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
        domains: DomainSpec = None,
        splits: Collection[str] | None = None,
        attacks: Collection[int] | None = None,
        frames_per_video: int | None = None,
        transform: Transform | None = None,
    ) -> None:
        path = Path(manifest)
        super().__init__(
            read_manifest(path),
            domains=domains,
            splits=splits,
            attacks=attacks,
            frames_per_video=frames_per_video,
            transform=transform,
        )
        self.root = Path(root) if root is not None else path.parent
        self.size = size

    def _image(self, index: int) -> NDArray[np.uint8]:
        file = Path(self.entries[index].path)
        file = file if file.is_absolute() else self.root / file
        with Image.open(file) as img:
            rgb = img.convert("RGB")
            if self.size is not None and rgb.size != (self.size, self.size):
                rgb = rgb.resize((self.size, self.size), Image.Resampling.BILINEAR)
            return np.array(rgb, dtype=np.uint8)
