"""Input checks shared by the loss functions."""

from __future__ import annotations

import torch
from torch import Tensor


def check_logits(name: str, logits: Tensor, min_classes: int = 2) -> None:
    """Raise a clear error unless ``logits`` is a non-empty float ``(B, K)`` tensor with
    ``K >= min_classes`` (a batch mean of nothing is undefined: an error, never NaN).
    """
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(logits).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"{name}: expected shape (B, K), got {tuple(logits.shape)}")
    if logits.shape[1] < min_classes:
        raise ValueError(f"{name}: expected at least {min_classes} classes, got {logits.shape[1]}")
    if not torch.is_floating_point(logits):
        raise TypeError(f"{name}: expected a floating point tensor, got {logits.dtype}")
    if logits.shape[0] == 0:
        raise ValueError(f"{name}: empty batch (the mean over no samples is undefined)")


def check_targets(name: str, targets: Tensor, batch: int, num_classes: int) -> None:
    """Raise a clear error unless ``targets`` is an integer ``(B,)`` tensor in ``[0, K)``."""
    if not isinstance(targets, Tensor):
        raise TypeError(f"{name}: expected a Tensor of class indices, got {type(targets).__name__}")
    if targets.ndim != 1 or targets.shape[0] != batch:
        raise ValueError(
            f"{name}: expected targets of shape ({batch},), got {tuple(targets.shape)}"
        )
    if torch.is_floating_point(targets) or targets.dtype == torch.bool:
        raise TypeError(f"{name}: targets must be integer class indices, got {targets.dtype}")
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
        raise ValueError(
            f"{name}: targets must lie in [0, {num_classes}), got range "
            f"[{int(targets.min())}, {int(targets.max())}]"
        )
