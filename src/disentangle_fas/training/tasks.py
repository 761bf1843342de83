"""A training configuration's task: :func:`build_task` reads a :class:`TrainConfig` and calls
the explicit builders (:func:`~disentangle_fas.training.synthetic_task.synthetic_task`,
:func:`~disentangle_fas.training.store_task.store_task`). This is where the training
configuration stops: nothing below takes it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from disentangle_fas.data.protocols import TABLE1_TASKS
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.content import ContentSpec
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.methods import uses_content
from disentangle_fas.training.store_task import store_task
from disentangle_fas.training.synthetic_task import synthetic_task

__all__ = [
    "build_store_task",
    "build_synthetic_task",
    "build_task",
    "content_spec",
    "protocol_tasks",
]


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
    """:func:`~disentangle_fas.training.synthetic_task.synthetic_task` with ``cfg``'s sizes.

    Args:
        cfg: task name, image size, images per domain, seed and content target.
        render_workers: rendering processes (``None``: one per core for large splits;
            ``0``: in this process).
    """
    task = synthetic_task(
        cfg.task,
        image_size=cfg.image_size,
        train_per_domain=cfg.synthetic_train_per_domain,
        eval_per_domain=cfg.synthetic_eval_per_domain,
        seed=cfg.seed,
        content=content_spec(cfg),
        render_workers=render_workers,
    )
    return dataclasses.replace(task, content_shape=(1, cfg.content_size, cfg.content_size))


def build_store_task(cfg: TrainConfig, *, val_fraction: float = 0.1) -> TaskData:
    """:func:`~disentangle_fas.training.store_task.store_task` on the store ``cfg.data``."""
    task = store_task(
        cfg.data,
        cfg.task,
        image_size=cfg.image_size,
        content=content_spec(cfg),
        scratch_dir=Path(cfg.out) / "target_cache",
        val_fraction=val_fraction,
    )
    return dataclasses.replace(task, content_shape=(1, cfg.content_size, cfg.content_size))


def build_task(cfg: TrainConfig) -> TaskData:
    """Build the task named by ``cfg.task`` on ``cfg.data``.

    Raises:
        FileNotFoundError: ``cfg.data`` is neither ``"synthetic"`` nor an existing store.
    """
    if cfg.data == "synthetic":
        return build_synthetic_task(cfg)
    return build_store_task(cfg)
