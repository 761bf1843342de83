"""SSDG's embedding (the official "bottleneck" layer) on top of the ResNet trunk."""

from __future__ import annotations

from torch import Tensor, nn

from disentangle_fas.nn import pool

__all__ = ["DEFAULT_EMBED_DIM", "DEFAULT_EMBED_DROPOUT", "Embedding"]

#: Output width of the official bottleneck (``Feature_Embedder_ResNet18``:
#: ``Linear(512, 512)``, ReLU, ``Dropout(0.5)``; no batch norm).
DEFAULT_EMBED_DIM = 512
#: Dropout of the official bottleneck.
DEFAULT_EMBED_DROPOUT = 0.5


class Embedding(nn.Module):
    """Global average pool, then ``Linear -> ReLU -> Dropout`` (the official bottleneck).

    Initialisation follows the official code: weight ``N(0, 0.005)``, bias ``0.1`` (so the
    ReLU starts in its linear range for every unit).

    Args:
        in_features: channels of the trunk's map (``encoder.num_features``).
        out_features: embedding width.
        dropout: dropout probability.

    Shape:
        - Input: ``(B, in_features, h, w)`` map or ``(B, in_features)`` vector.
        - Output: ``(B, out_features)``, non-negative.

    Example:
        >>> import torch
        >>> Embedding(512)(torch.randn(2, 512, 1, 1)).shape
        torch.Size([2, 512])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int = DEFAULT_EMBED_DIM,
        *,
        dropout: float = DEFAULT_EMBED_DROPOUT,
    ) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"in_features and out_features must be positive, got {in_features}, {out_features}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.in_features = in_features
        self.out_features = out_features
        self.fc = nn.Linear(in_features, out_features)
        nn.init.normal_(self.fc.weight, 0.0, 0.005)
        nn.init.constant_(self.fc.bias, 0.1)
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def forward(self, features: Tensor) -> Tensor:
        """Embed a trunk map or vector; shapes in the class docstring."""
        out: Tensor = self.dropout(self.act(self.fc(pool(features))))
        return out
