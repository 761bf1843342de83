"""A method's post-training step: what the loop scores and checkpoints at each evaluation.

A method may define ``finalize(model, batches) -> LivenessModel``: given the model an
evaluation is about to score (the trained weights or their average) and the source-training
set, it returns the model to score and save, leaving the one being trained as it was (the
paper's ``erase="leace"`` fits an eraser and refits C_L on a copy). Methods without it are
scored as they are. The loop names no method.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from disentangle_fas.contracts import LivenessModel, TrainingMethod
from disentangle_fas.seeds import derive_seed
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData

__all__ = ["finalized", "source_batches"]


def source_batches(
    task: TaskData, cfg: TrainConfig, dev: torch.device
) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """The source-training set as ``(images, labels, domains)`` batches of ``cfg.batch_size``
    on ``dev``, images at ``cfg.image_size`` in ``[0, 1]`` without augmentation, in an order
    drawn from the run's seed (outside the training stream). Images are read as consumed.
    """
    n = len(task.train)  # type: ignore[arg-type]
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "finalize", 0))
    order = torch.randperm(n, generator=gen).tolist()
    labels = torch.as_tensor(task.train_labels, dtype=torch.long)
    domains = torch.as_tensor(task.train_domains, dtype=torch.long)
    for start in range(0, n, cfg.batch_size):
        idx = order[start : start + cfg.batch_size]
        images = torch.stack([task.train[i].image for i in idx]).to(dev)
        if images.shape[-1] != cfg.image_size or images.shape[-2] != cfg.image_size:
            images = torch.nn.functional.interpolate(
                images, size=(cfg.image_size, cfg.image_size), mode="bilinear", antialias=True
            )
        yield images, labels[idx].to(dev), domains[idx].to(dev)


def finalized(
    method: TrainingMethod,
    model: LivenessModel,
    task: TaskData,
    cfg: TrainConfig,
    dev: torch.device,
) -> LivenessModel:
    """``method.finalize(model, batches)`` when the method defines it, else ``model``.

    Args:
        method: the run's method.
        model: the model an evaluation is about to score.
        task: the run's data (its source-training set feeds ``batches``).
        cfg: the run's configuration (seed, batch size, image size).
        dev: the device.

    Returns:
        The model to score and checkpoint.
    """
    finalize = getattr(method, "finalize", None)
    if not callable(finalize):
        return model
    out = finalize(model, lambda: source_batches(task, cfg, dev))
    if not isinstance(out, LivenessModel):
        raise TypeError(f"finalize returned a {type(out).__name__}, not a LivenessModel")
    return out
