"""A training configuration's task, and the builders that make one.

:func:`build_task` reads a :class:`TrainConfig` and calls the explicit builders:
:func:`synthetic_task` (the built-in benchmark, the default data of every command) and
:func:`store_task` (a training store written by ``disentangle-fas pack``). This is where the
training configuration stops: nothing below takes it.

The synthetic benchmark has the paper's five domains (``O``, ``C``, ``I``, ``M``, ``Cb``;
see ``docs/synthetic.md``), so the task names are the paper's: ``"OCI->M"`` and the other
leave-one-out tasks of Table 1, and ``"OCI->Cb"`` and the others of Table 2, whose target
holds live faces and the unseen attack (the rigid mask). Rendered single-domain splits
are kept within the process and on disk (:mod:`disentangle_fas.synthetic.cache`, keyed by
the generator version and the split's layout), so a split shared by several tasks, variants
or commands is rendered once.
"""

from __future__ import annotations

import multiprocessing
import os
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.data.protocols import TABLE1_TASKS, leave_one_out
from disentangle_fas.data.store import StoreDataset, read_store_meta
from disentangle_fas.data.subsets import DomainConcat, IndexedSubset, Resize, split_by_subject
from disentangle_fas.synthetic import UNSEEN_ATTACKS, SyntheticFAS
from disentangle_fas.synthetic.cache import default_cache_dir
from disentangle_fas.targets import PrecomputedTarget
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.content import ContentSpec, prnet_provider
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.methods import uses_content

__all__ = [
    "EVAL_FRAMES_PER_VIDEO",
    "SplitSpec",
    "build_store_task",
    "build_synthetic_task",
    "build_task",
    "content_spec",
    "protocol_tasks",
    "render_split",
    "store_task",
    "synthetic_domain",
    "synthetic_splits",
    "synthetic_splits_of",
    "synthetic_task",
]


#: Frames per video of the synthetic held-out sets (source validation, target test).
EVAL_FRAMES_PER_VIDEO = 2


@lru_cache(maxsize=32)
def synthetic_domain(
    domain: str,
    split: str,
    count: int,
    size: int,
    seed: int,
    attacks: tuple[int, ...] | None = None,
    frames_per_video: int = 1,
    *,
    render_workers: int | None = None,
) -> SyntheticFAS:
    """One pre-rendered single-domain split (cached within the process and on disk).

    ``render_workers``: rendering processes (``None``: one per core for large splits, at
    most 4; 0 renders in this process). The images do not depend on it. Renders are read
    from and written to :func:`~disentangle_fas.synthetic.cache.default_cache_dir` (set
    ``DISENTANGLE_FAS_CACHE=off`` to render every time).
    """
    return SyntheticFAS(
        [domain],
        samples_per_domain=count,
        image_size=size,
        split=split,
        seed=seed,
        attacks=None if attacks is None else list(attacks),
        frames_per_video=frames_per_video,
        pre_render=True,
        num_workers=_render_workers(count) if render_workers is None else render_workers,
        cache_dir=default_cache_dir(),
    )


class SplitSpec(NamedTuple):
    """One single-domain split of the synthetic benchmark (:func:`synthetic_domain`'s
    arguments).
    """

    domain: str
    split: str
    samples: int
    size: int
    seed: int
    attacks: tuple[int, ...] | None
    frames_per_video: int


def synthetic_splits(
    task: str,
    image_size: int,
    train_per_domain: int,
    eval_per_domain: int,
    seed: int,
    eval_frames_per_video: int = EVAL_FRAMES_PER_VIDEO,
) -> list[SplitSpec]:
    """The splits :func:`synthetic_task` renders for ``task``: the source domains' training
    splits, their validation splits, then the target's test split.

    Raises:
        ValueError: an unknown task.
    """
    protocol = leave_one_out(task)
    fpv = eval_frames_per_video
    target_attacks = tuple(UNSEEN_ATTACKS) if protocol.target == "Cb" else None
    return (
        [
            SplitSpec(d, "train", train_per_domain, image_size, seed, None, 1)
            for d in protocol.sources
        ]
        + [
            SplitSpec(d, "dev", eval_per_domain, image_size, seed, None, fpv)
            for d in protocol.sources
        ]
        + [
            SplitSpec(
                protocol.target, "test", eval_per_domain, image_size, seed, target_attacks, fpv
            )
        ]
    )


def synthetic_splits_of(cfg: TrainConfig) -> list[SplitSpec]:
    """:func:`synthetic_splits` of a configuration on the synthetic data (empty on real
    data, or when an unknown task is named: building it will say why).
    """
    if cfg.data != "synthetic":
        return []
    try:
        return synthetic_splits(
            cfg.task,
            cfg.image_size,
            cfg.synthetic_train_per_domain,
            cfg.synthetic_eval_per_domain,
            cfg.seed,
        )
    except ValueError:
        return []


def render_split(spec: SplitSpec) -> SplitSpec:
    """Render one split into the disk cache (in this process), for a later build to read.

    Returns:
        ``spec``, to say which split is done.
    """
    SyntheticFAS(
        [spec.domain],
        samples_per_domain=spec.samples,
        image_size=spec.size,
        split=spec.split,
        seed=spec.seed,
        attacks=None if spec.attacks is None else list(spec.attacks),
        frames_per_video=spec.frames_per_video,
        pre_render=True,
        cache_dir=default_cache_dir(),
    )
    return spec


def _render_workers(count: int) -> int:
    """Render large splits in worker processes (one per core, at most 4); a process that
    is itself a worker (a protocol's parallel runs) renders in-process.
    """
    if multiprocessing.parent_process() is not None:
        return 0
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    return 0 if count < 64 or cores < 2 else min(4, cores)


def _depth_targets(ds: DomainConcat, size: int) -> Tensor:
    maps = torch.stack([ds.depth(i) for i in range(len(ds))])
    if maps.shape[-1] != size:
        maps = F.interpolate(maps, size=(size, size), mode="area")
    out: Tensor = maps
    return out


def synthetic_task(
    task: str,
    *,
    image_size: int,
    train_per_domain: int,
    eval_per_domain: int,
    seed: int = 0,
    content: ContentSpec | None = None,
    render_workers: int | None = None,
    content_size: int = 32,
    eval_frames_per_video: int = EVAL_FRAMES_PER_VIDEO,
) -> TaskData:
    """The synthetic task ``task`` (e.g. ``"OCI->M"``, ``"ICM->Cb"``).

    Sources: ``train_per_domain`` training images per source domain (split ``train``, one
    frame per video) and ``eval_per_domain`` held-out images per source domain (split
    ``dev``, other people) for the honest threshold. Target: ``eval_per_domain`` images of
    the target domain (split ``test``); a ``Cb`` target holds live faces and masks only,
    the attack no source has. The held-out sets hold ``eval_frames_per_video`` frames of
    each video (scores are averaged per video when evaluated, as in the literature's
    protocols), so they hold ``ceil(eval_per_domain / eval_frames_per_video)`` videos per
    domain.

    Args:
        task: the task name.
        image_size: rendered side length.
        train_per_domain: training images per source domain.
        eval_per_domain: validation images per source domain and target test images.
        seed: the benchmark's seed (which people, poses and captures).
        content: the content target: ``"geometry"`` is the ground-truth depth map,
            ``"prnet"`` the teacher; ``None`` for models without a content branch.
        render_workers: see :func:`synthetic_domain`.
        content_size: side of the content target map (``content_shape`` without one).
        eval_frames_per_video: frames per video of the source-validation and target sets.

    Raises:
        ValueError: an unknown task, a PRNet target without weights, or
            ``eval_frames_per_video < 1``.
    """
    if eval_frames_per_video < 1:
        raise ValueError(f"eval_frames_per_video must be at least 1, got {eval_frames_per_video}")
    protocol = leave_one_out(task)
    specs = synthetic_splits(
        task, image_size, train_per_domain, eval_per_domain, seed, eval_frames_per_video
    )
    parts = [synthetic_domain(*spec, render_workers=render_workers) for spec in specs]
    n = len(protocol.sources)
    train_parts, val_parts, target = parts[:n], parts[n : 2 * n], parts[-1]
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
        content_shape=(1, content_size, content_size) if content is None else content.shape,
        source_val_split="split",
    )


def store_task(
    root: str | Path,
    task: str,
    *,
    image_size: int,
    content: ContentSpec | None,
    scratch_dir: Path | None = None,
    val_fraction: float = 0.1,
    content_size: int = 32,
) -> TaskData:
    """A leave-one-out task over a training store written by ``disentangle-fas pack``.

    Source training uses the protocol's source splits minus about ``val_fraction`` of the
    source subjects, which are held out with all their videos as source validation
    (:func:`~disentangle_fas.data.subsets.split_by_subject`: a stable hash of domain and
    subject id, so the honest threshold and checkpoint are chosen on people training never
    saw). Samples without a subject are held out by video instead (about ``val_fraction``
    of those videos); the task's ``source_val_split`` says which was used (``"subject"``,
    ``"video"`` or ``"subject+video"``). The target test set is the protocol's target
    splits. Images are resized to ``image_size`` (training batches on the device, after
    reading them as uint8).

    Args:
        root: the store directory.
        task: the task name, e.g. ``"OCI->M"``.
        image_size: model input side.
        content: the content target (PRNet on real data), or ``None``.
        scratch_dir: where the target cache goes when the store's folder is read-only.
        val_fraction: fraction of source subjects (of videos, for samples without a
            subject) held out for validation, in ``(0, 1)``.
        content_size: side of the content target map (``content_shape`` without one).

    Raises:
        FileNotFoundError: no store at ``root``.
        ValueError: a ``"geometry"`` content target (real data has no ground truth),
            ``val_fraction`` outside ``(0, 1)``, or source data too small to hold anything
            out (fewer than two subjects and fewer than two videos).
    """
    root = Path(root)
    if not (root / "store.json").is_file():
        raise FileNotFoundError(
            f"{root} is not a training store (no store.json). Preprocess and pack your data "
            "first: disentangle-fas preprocess ... && disentangle-fas pack ... (see docs/datasets.md)"
        )
    protocol = leave_one_out(task)
    meta = read_store_meta(root)
    same = (meta["height"], meta["width"]) == (image_size, image_size)
    resize = None if same else Resize(image_size)
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
    held, held_by = split_by_subject(sources.entries, val_fraction)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    if val_idx.size == 0 or train_idx.size == 0:
        raise ValueError(
            f"{root}: the source data of {protocol.name} ({len(sources)} samples of "
            f"{len(set(sources.video_ids))} video(s)) is too small to hold out a source "
            "validation set: it needs at least two subjects or two videos"
        )
    provider = None
    shape = (1, content_size, content_size) if content is None else content.shape
    if content is not None:
        if content.kind == "geometry":
            raise ValueError(
                "content_target='geometry' exists only for synthetic data; use 'prnet'"
            )
        fingerprint = (
            (root / "store.json").read_bytes(),
            src_sel.splits,
            sorted(src_sel.domains.items()),
            None if src_sel.attacks is None else sorted(src_sel.attacks),
            image_size,
        )
        every = IndexedSubset(sources, np.arange(len(sources)), resize)
        provider = prnet_provider(
            content, cache=(every, fingerprint, root / "target_cache"), scratch_dir=scratch_dir
        )
    return TaskData(
        name=protocol.name,
        train=IndexedSubset(sources, train_idx, resize),
        train_labels=sources.labels[train_idx],
        train_domains=sources.domains[train_idx],
        source_val=IndexedSubset(sources, val_idx, resize),
        target_test=target,
        source_names=list(protocol.sources),
        target_name=protocol.target,
        content=provider,
        content_shape=shape,
        source_val_split=held_by,
    )


def protocol_tasks() -> list[str]:
    """The leave-one-out task names: Table 1's four (the synthetic benchmark has the same
    domains as the real one).
    """
    return list(TABLE1_TASKS)


def content_spec(cfg: TrainConfig) -> ContentSpec | None:
    """The content target ``cfg`` asks for, or ``None`` when its method trains without one
    (the paper's baseline and domain variants have no E_C).

    ``content_target="auto"`` is the ground-truth depth on synthetic data and PRNet on a
    store.
    """
    if not uses_content(cfg):
        return None
    kind = cfg.content_target
    if kind == "auto":
        kind = "geometry" if cfg.data == "synthetic" else "prnet"
    return ContentSpec(
        kind,  # type: ignore[arg-type]
        cfg.content_size,
        prnet_weights=cfg.prnet_weights,
        prnet_input_crop_scale=cfg.prnet_input_crop_scale or None,
    )


def build_synthetic_task(cfg: TrainConfig, *, render_workers: int | None = None) -> TaskData:
    """:func:`synthetic_task` with ``cfg``'s sizes.

    Args:
        cfg: task name, image size, images per domain, seed and content target.
        render_workers: rendering processes (``None``: one per core for large splits;
            ``0``: in this process).
    """
    return synthetic_task(
        cfg.task,
        image_size=cfg.image_size,
        train_per_domain=cfg.synthetic_train_per_domain,
        eval_per_domain=cfg.synthetic_eval_per_domain,
        seed=cfg.seed,
        content=content_spec(cfg),
        render_workers=render_workers,
        content_size=cfg.content_size,
    )


def build_store_task(cfg: TrainConfig, *, val_fraction: float = 0.1) -> TaskData:
    """:func:`store_task` on the store ``cfg.data``."""
    return store_task(
        cfg.data,
        cfg.task,
        image_size=cfg.image_size,
        content=content_spec(cfg),
        scratch_dir=Path(cfg.out) / "target_cache",
        val_fraction=val_fraction,
        content_size=cfg.content_size,
    )


def build_task(cfg: TrainConfig) -> TaskData:
    """Build the task named by ``cfg.task`` on ``cfg.data``.

    Raises:
        FileNotFoundError: ``cfg.data`` is neither ``"synthetic"`` nor an existing store.
    """
    if cfg.data == "synthetic":
        return build_synthetic_task(cfg)
    return build_store_task(cfg)
