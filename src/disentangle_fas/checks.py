"""Tensor input checks shared by every loss, head and method: one clear error per bad input.

Each check names the caller (``name``) in its message, so that an error says which function
refused what.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_features", "check_index_vector", "check_labels", "check_logits", "check_targets"]


def check_features(name: str, features: Tensor) -> None:
    """Raise unless ``features`` is a floating point ``(B, d)`` tensor."""
    if not isinstance(features, Tensor):
        raise TypeError(f"{name}: expected a Tensor of features, got {type(features).__name__}")
    if features.ndim != 2:
        raise ValueError(f"{name}: expected features of shape (B, d), got {tuple(features.shape)}")
    if not torch.is_floating_point(features):
        raise TypeError(f"{name}: expected floating point features, got {features.dtype}")


def check_index_vector(name: str, what: str, values: Tensor, batch: int | None) -> None:
    """Raise unless ``values`` is a non-negative integer ``(batch,)`` tensor.

    ``batch=None`` accepts any length.
    """
    if not isinstance(values, Tensor):
        raise TypeError(f"{name}: expected {what} as a Tensor, got {type(values).__name__}")
    if values.ndim != 1 or (batch is not None and values.shape[0] != batch):
        expected = "(B,)" if batch is None else f"({batch},)"
        raise ValueError(f"{name}: expected {what} of shape {expected}, got {tuple(values.shape)}")
    if torch.is_floating_point(values) or values.dtype == torch.bool or values.is_complex():
        raise TypeError(f"{name}: {what} must be an integer tensor, got {values.dtype}")
    if values.numel() and int(values.min()) < 0:
        raise ValueError(f"{name}: {what} must be >= 0, got a minimum of {int(values.min())}")


def check_labels(name: str, labels: Tensor, batch: int | None) -> None:
    """Raise unless ``labels`` is an integer ``(batch,)`` tensor of 0 (spoof) and 1 (live)."""
    check_index_vector(name, "labels", labels, batch)
    if labels.numel() and int(labels.max()) > 1:
        raise ValueError(
            f"{name}: labels must be 1 (live) or 0 (spoof), got a maximum of {int(labels.max())}"
        )


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
