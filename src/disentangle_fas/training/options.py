"""The commands' checks that need no torch: run before any data is rendered or read, so a
bad option fails in a second with one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from disentangle_fas.data.balance import check_batch_size
from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.encoders.names import check_backbone_name
from disentangle_fas.training.config import TrainConfig

__all__ = ["KEEP_CHOICES", "KeepCheckpoints", "check_options"]

#: The weight files a finished protocol run keeps (``protocol --keep-checkpoints``).
KeepCheckpoints = Literal["all", "chosen", "none"]
KEEP_CHOICES: tuple[str, ...] = get_args(KeepCheckpoints)


def check_options(cfg: TrainConfig, tasks: Sequence[str] | None = None) -> None:
    """Check what can be checked of ``cfg`` without building anything.

    Args:
        cfg: the run's configuration (its own value checks ran at construction).
        tasks: the tasks the configuration will run (``None``: ``cfg.task``); tasks that
            are not a benchmark's leave-one-out task (a caller's own) are left to their
            sampler.

    Raises:
        ValueError: an unknown backbone (or a timm backbone that cannot be built offline),
            or a batch size that cannot hold equal live and spoof counts from every source
            domain of a task.
    """
    check_backbone_name(cfg.backbone or f"resnet{cfg.depth}")
    for name in tasks if tasks else [cfg.task]:
        try:
            sources = leave_one_out(name).sources
        except ValueError:
            continue
        check_batch_size(cfg.batch_size, len(sources), name)
