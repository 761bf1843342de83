"""A training run's weight average, built from its configuration.

:func:`weight_average_for` makes the :class:`~disentangle_fas.training.averaging.WeightAverage`
that ``TrainConfig.averaging`` asks for, :func:`batchnorm_images` draws the fixed training
images its batch-norm statistics are recomputed on, and :func:`check_restored_average`
refuses to resume an averaging run from a state saved without its average.
"""

from __future__ import annotations

from pathlib import Path

import torch

from disentangle_fas.errors import RunDirectoryError
from disentangle_fas.seeds import derive_seed
from disentangle_fas.training.averaging import WeightAverage, average_start_step
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = [
    "BN_RECALIBRATION_IMAGES",
    "batchnorm_images",
    "check_restored_average",
    "weight_average_for",
]


#: Training images the averaged model's batch-norm statistics are recomputed on.
BN_RECALIBRATION_IMAGES = 256


def batchnorm_images(cfg: TrainConfig, task: TaskData, dev: torch.device) -> torch.Tensor:
    """A fixed set of training images (chosen from the run's seed, outside the training
    stream) on which the averaged model's batch-norm statistics are recomputed.
    """
    n = len(task.train)  # type: ignore[arg-type]
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "bn", 0))
    idx = torch.randperm(n, generator=gen)[: min(n, BN_RECALIBRATION_IMAGES)].tolist()
    images = torch.stack([task.train[i].image for i in idx]).to(dev)
    if images.shape[-1] != cfg.image_size:
        images = torch.nn.functional.interpolate(
            images, size=(cfg.image_size, cfg.image_size), mode="bilinear", antialias=True
        )
    return images


def weight_average_for(cfg: TrainConfig, model: torch.nn.Module) -> WeightAverage | None:
    """The weight average ``cfg.averaging`` asks for (``None`` for ``"none"``)."""
    if cfg.averaging == "none":
        return None
    return WeightAverage(
        model,
        cfg.averaging,
        decay=cfg.ema_decay,
        start_step=average_start_step(cfg.average_start, cfg.steps),
    )


def check_restored_average(
    cfg: TrainConfig, average: WeightAverage | None, restored: bool, step: int, path: Path
) -> None:
    """Refuse to resume an averaging run from a state without its average, unless
    ``allow_config_change`` (the average then starts again from the resumed step).

    Raises:
        RunDirectoryError: the state has no average (it was written without averaging)
            and the average would have started by ``step``.
    """
    if average is None or restored or step <= average.start_step or cfg.allow_config_change:
        return
    raise RunDirectoryError(
        f"{path} holds no weight average (written with averaging none) but averaging is "
        f"{cfg.averaging!r}: resume with --averaging none to continue exactly, or add "
        "--allow-config-change to start the average at the resumed step"
    )
