"""The inference path of a compared model as one module: normalise, encode, pool, classify."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from disentangle_fas.heads import pool

__all__ = ["GlobalAvgPool", "InferencePath"]


class GlobalAvgPool(nn.Module):
    """Global average pooling of a ``(B, d, h, w)`` map to ``(B, d)`` (``(B, d)`` passes).

    Shape:
        - Input: ``(B, d, h, w)`` or ``(B, d)``; output ``(B, d)``.
    """

    def forward(self, features: Tensor) -> Tensor:
        """Pool; shapes in the class docstring."""
        return pool(features)


class InferencePath(nn.Module):
    """``normalize -> encoder -> embedding -> head.logits``: what a model scores with.

    The modules are the model's own (shared, not copied): gradients and hooks on them reach
    the model, so Grad-CAM can hook a layer of ``encoder`` and ONNX export traces this.

    Args:
        encoder: maps normalised images to a feature map, with an integer ``num_features``.
        head: has ``logits(features) -> (B, 2)``; class 1 is live.
        normalize: input preprocessing (images enter in ``[0, 1]``).
        embedding: between the encoder and the head (pooling, for example).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``; :meth:`forward`: ``(B, 2)`` logits;
          :meth:`live_score`: ``(B,)``.
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module,
        normalize: nn.Module | None = None,
        *,
        embedding: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if not callable(getattr(head, "logits", None)):
            raise TypeError(f"the head ({type(head).__name__}) must have logits(features)")
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.encoder = encoder
        self.embedding = embedding if embedding is not None else nn.Identity()
        self.head = head

    def features(self, images: Tensor) -> Tensor:
        """Return what the head sees."""
        out: Tensor = self.embedding(self.encoder(self.normalize(images)))
        return out

    def classify(self, features: Tensor) -> Tensor:
        """Return the head's ``(B, 2)`` logits of :meth:`features` output."""
        logits = getattr(self.head, "logits")  # noqa: B009 - nn.Module attributes type as Tensor
        out: Tensor = logits(features)
        return out

    def forward(self, images: Tensor) -> Tensor:
        """Return ``(B, 2)`` logits."""
        return self.classify(self.features(images))

    def live_score(self, images: Tensor) -> Tensor:
        """Return ``(B,)`` P(live) = ``softmax(logits)[:, 1]``."""
        return torch.softmax(self(images), dim=1)[:, 1]
