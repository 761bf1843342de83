"""Input checks shared by the SSDG parts."""

from __future__ import annotations

import torch
from torch import Tensor


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
