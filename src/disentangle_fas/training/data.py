"""The data of one training task: source training set, held-out source validation set,
target test set and the content target.

:func:`build_task` makes a :class:`TaskData` from a :class:`TrainConfig`: on the built-in
synthetic benchmark (``data="synthetic"``) or on a training store written by
``disentangle-fas pack`` (``data=<store dir>``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.types import FASSample

__all__ = [
    "IndexedSubset",
    "Resize",
    "TaskData",
    "build_store_task",
    "build_task",
    "protocol_tasks",
    "split_by_video",
]


@dataclass
class TaskData:
    """Everything the training loop needs for one task.

    Attributes:
        name: the task's display name (e.g. ``"O&C&I to M"``).
        train: source training samples; ``domain`` in ``0 .. S-1``.
        train_labels: ``(N,)`` labels of ``train`` (for the balanced sampler).
        train_domains: ``(N,)`` domains of ``train``.
        source_val: held-out source samples (never seen in training), for the honest
            threshold and checkpoint choice.
        target_test: target-domain test samples.
        source_names: names of the ``S`` source domains, in index order.
        target_name: name of the target domain.
        content: content-target provider ``(images, indices) -> (B, C, H, W)``; indices
            are ``FASSample.index`` values of ``train``. ``None`` for variants without E_C.
        content_shape: ``(C, H, W)`` of the content target.
    """

    name: str
    train: Dataset[FASSample]
    train_labels: NDArray[np.int64]
    train_domains: NDArray[np.int64]
    source_val: Dataset[FASSample]
    target_test: Dataset[FASSample]
    source_names: list[str]
    target_name: str
    content: TargetProvider | None
    content_shape: tuple[int, int, int]


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


def protocol_tasks(cfg: TrainConfig) -> list[str]:
    """The leave-one-out task names: Table 1's four (the synthetic benchmark has the same
    domains as the real one).
    """
    from disentangle_fas.data.protocols import TABLE1_TASKS

    return list(TABLE1_TASKS)


def build_task(cfg: TrainConfig) -> TaskData:
    """Build the task named by ``cfg.task`` on ``cfg.data``.

    Raises:
        FileNotFoundError: ``cfg.data`` is neither ``"synthetic"`` nor an existing store.
    """
    if cfg.data == "synthetic":
        from disentangle_fas.training.synthetic_task import build_synthetic_task

        task: TaskData = build_synthetic_task(cfg)
        return task
    return build_store_task(cfg)


def build_store_task(cfg: TrainConfig, *, val_fraction: float = 0.1) -> TaskData:
    """A leave-one-out task over a training store of real data.

    Source training uses the protocol's source splits minus about ``val_fraction`` of the
    source videos, which are held out as source validation (chosen by a hash of the video
    id); the target test set is the protocol's target splits. Images are resized to
    ``cfg.image_size`` (training batches on the device, after reading them as uint8). The
    content target is PRNet (``cfg.prnet_weights``) on real data.

    Raises:
        FileNotFoundError: no store at ``cfg.data``.
        ValueError: ``cfg.content_target="geometry"`` (real data has no ground truth).
    """
    from disentangle_fas.data.protocols import leave_one_out
    from disentangle_fas.data.store import StoreDataset, read_store_meta

    root = Path(cfg.data)
    if not (root / "store.json").is_file():
        raise FileNotFoundError(
            f"{root} is not a training store (no store.json). Preprocess and pack your data "
            "first: disentangle-fas preprocess ... && disentangle-fas pack ... (see docs/datasets.md)"
        )
    protocol = leave_one_out(cfg.task)
    meta = read_store_meta(root)
    same = (meta["height"], meta["width"]) == (cfg.image_size, cfg.image_size)
    resize = None if same else Resize(cfg.image_size)
    src_sel, tgt_sel = protocol.selection("source"), protocol.selection("target")
    # No transform on the sources: training reads them as uint8 batches and resizes them
    # on the device; the subsets resize the images they give one by one.
    sources = StoreDataset(
        root, splits=src_sel.splits, domains=src_sel.domains, attacks=src_sel.attacks
    )
    target = StoreDataset(
        root,
        splits=tgt_sel.splits,
        domains=tgt_sel.domains,
        attacks=tgt_sel.attacks,
        transform=resize,
    )
    held = split_by_video(sources.video_ids, val_fraction)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    content = None
    shape = (1, cfg.content_size, cfg.content_size)
    if cfg.variant in ("content", "full"):
        if cfg.content_target == "geometry":
            raise ValueError(
                "content_target='geometry' exists only for synthetic data; use 'prnet'"
            )
        fingerprint = (
            (root / "store.json").read_bytes(),
            src_sel.splits,
            sorted(src_sel.domains.items()),
            None if src_sel.attacks is None else sorted(src_sel.attacks),
            cfg.image_size,
        )
        every = IndexedSubset(sources, np.arange(len(sources)), resize)
        content = _prnet_provider(cfg, cache=(every, fingerprint, root / "target_cache"))
    return TaskData(
        name=protocol.name,
        train=IndexedSubset(sources, train_idx, resize),
        train_labels=sources.labels[train_idx],
        train_domains=sources.domains[train_idx],
        source_val=IndexedSubset(sources, val_idx, resize),
        target_test=target,
        source_names=list(protocol.sources),
        target_name=protocol.target,
        content=content,
        content_shape=shape,
    )


def _prnet_provider(
    cfg: TrainConfig, cache: tuple[Dataset[FASSample], object, Path] | None = None
) -> TargetProvider:
    """PRNet depth at ``content_size``; with ``cache=(dataset, fingerprint, dir)`` the teacher
    runs once per image into an on-disk fp16 cache (``dir``, or ``<out>/target_cache`` when
    ``dir`` is not writable) instead of every step.
    """
    import os

    from disentangle_fas.targets import PRNetTarget, TargetCache, as_provider, make_fingerprint

    if not cfg.prnet_weights:
        raise ValueError(
            "the content branch on real data needs PRNet weights: pass --prnet-weights "
            "<local file> (see docs/content_targets.md), or train --variant baseline/domain"
        )
    target = PRNetTarget(
        cfg.prnet_weights, mode="depth", output_size=(cfg.content_size, cfg.content_size)
    )
    if cache is None:
        return as_provider(target)
    dataset, parts, directory = cache
    if not os.access(directory.parent, os.W_OK):
        directory = Path(cfg.out) / "target_cache"
    return TargetCache.for_dataset(
        directory, target, dataset, dataset_fingerprint=make_fingerprint(parts)
    )
