"""Leave-one-out tasks over a training store of real data (explicit arguments)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.data.store import StoreDataset, read_store_meta
from disentangle_fas.training.content import ContentSpec, prnet_provider
from disentangle_fas.training.data import IndexedSubset, Resize, TaskData, split_by_video

__all__ = ["store_task"]


def store_task(
    root: str | Path,
    task: str,
    *,
    image_size: int,
    content: ContentSpec | None,
    scratch_dir: Path | None = None,
    val_fraction: float = 0.1,
) -> TaskData:
    """A leave-one-out task over a training store written by ``disentangle-fas pack``.

    Source training uses the protocol's source splits minus about ``val_fraction`` of the
    source videos, which are held out as source validation (chosen by a hash of the video
    id); the target test set is the protocol's target splits. Images are resized to
    ``image_size`` (training batches on the device, after reading them as uint8).

    Args:
        root: the store directory.
        task: the task name, e.g. ``"OCI->M"``.
        image_size: model input side.
        content: the content target (PRNet on real data), or ``None``.
        scratch_dir: where the target cache goes when the store's folder is read-only.
        val_fraction: fraction of source videos held out for validation.

    Raises:
        FileNotFoundError: no store at ``root``.
        ValueError: a ``"geometry"`` content target (real data has no ground truth).
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
    held = split_by_video(sources.video_ids, val_fraction)
    train_idx, val_idx = np.flatnonzero(~held), np.flatnonzero(held)
    provider = None
    shape = (1, 32, 32) if content is None else content.shape
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
    )
