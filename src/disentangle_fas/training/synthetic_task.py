"""Tasks on the built-in synthetic benchmark (the default data of every command).

The synthetic benchmark has the paper's five domains (``O``, ``C``, ``I``, ``M``, ``Cb``;
see ``docs/synthetic.md``), so the task names are the paper's: ``"OCI->M"`` and the other
leave-one-out tasks of Table 1, and ``"OCI->Cb"`` and the others of Table 2, whose target
holds live faces and the unseen attack (the rigid mask). Renders are cached per
``(domain, split, count, size, seed)`` within the process, so a protocol renders each
domain once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.synthetic import UNSEEN_ATTACKS, SyntheticFAS
from disentangle_fas.targets import PrecomputedTarget
from disentangle_fas.training.content import ContentSpec, prnet_provider
from disentangle_fas.training.data import TaskData
from disentangle_fas.types import FASSample

__all__ = ["DomainConcat", "synthetic_domain", "synthetic_task"]


@lru_cache(maxsize=32)
def synthetic_domain(
    domain: str,
    split: str,
    count: int,
    size: int,
    seed: int,
    attacks: tuple[int, ...] | None = None,
    render_workers: int | None = None,
) -> SyntheticFAS:
    """One pre-rendered single-domain split (cached within the process).

    ``render_workers``: rendering processes (``None``: one per core for large splits, at
    most 4; 0 renders in this process). The images do not depend on it.
    """
    return SyntheticFAS(
        [domain],
        samples_per_domain=count,
        image_size=size,
        split=split,
        seed=seed,
        attacks=None if attacks is None else list(attacks),
        pre_render=True,
        num_workers=_render_workers(count) if render_workers is None else render_workers,
    )


def _render_workers(count: int) -> int:
    """Render large splits in worker processes (one per core, at most 4)."""
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return 0 if count < 64 or cores < 2 else min(4, cores)


class DomainConcat(Dataset[FASSample]):
    """Concatenate single-domain datasets, numbering their domains ``0 .. S-1``.

    ``FASSample.index`` becomes the position in the concatenation (the key of per-sample
    content targets).

    Args:
        parts: one dataset per domain, in domain-index order.
    """

    def __init__(self, parts: list[SyntheticFAS]) -> None:
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
        return self.parts[part].depth(local)


def _depth_targets(ds: DomainConcat, size: int) -> Tensor:
    maps = torch.stack([ds.depth(i) for i in range(len(ds))])
    if maps.shape[-1] != size:
        maps = F.interpolate(maps, size=(size, size), mode="area")
    return maps


def synthetic_task(
    task: str,
    *,
    image_size: int,
    train_per_domain: int,
    eval_per_domain: int,
    seed: int = 0,
    content: ContentSpec | None = None,
    render_workers: int | None = None,
) -> TaskData:
    """The synthetic task ``task`` (e.g. ``"OCI->M"``, ``"ICM->Cb"``).

    Sources: ``train_per_domain`` training images per source domain (split ``train``) and
    ``eval_per_domain`` held-out images per source domain (split ``dev``, other people) for
    the honest threshold. Target: ``eval_per_domain`` images of the target domain (split
    ``test``); a ``Cb`` target holds live faces and masks only, the attack no source has.

    Args:
        task: the task name.
        image_size: rendered side length.
        train_per_domain: training images per source domain.
        eval_per_domain: validation images per source domain and target test images.
        seed: the benchmark's seed (which people, poses and captures).
        content: the content target: ``"geometry"`` is the ground-truth depth map,
            ``"prnet"`` the teacher; ``None`` for models without a content branch.
        render_workers: see :func:`synthetic_domain`.

    Raises:
        ValueError: an unknown task, or a PRNet target without weights.
    """
    protocol = leave_one_out(task)
    w = render_workers
    train_parts = [
        synthetic_domain(d, "train", train_per_domain, image_size, seed, None, w)
        for d in protocol.sources
    ]
    val_parts = [
        synthetic_domain(d, "dev", eval_per_domain, image_size, seed, None, w)
        for d in protocol.sources
    ]
    target_attacks = tuple(UNSEEN_ATTACKS) if protocol.target == "Cb" else None
    target = synthetic_domain(
        protocol.target, "test", eval_per_domain, image_size, seed, target_attacks, w
    )
    train = DomainConcat(train_parts)
    provider = None
    if content is not None:
        if content.kind == "prnet":
            provider = prnet_provider(content)
        else:
            provider = PrecomputedTarget(_depth_targets(train, content.size))
    return TaskData(
        name=protocol.name,
        train=train,
        train_labels=train.labels,
        train_domains=train.domains,
        source_val=DomainConcat(val_parts),
        target_test=target,
        source_names=list(protocol.sources),
        target_name=protocol.target,
        content=provider,
        content_shape=(1, 32, 32) if content is None else content.shape,
    )
