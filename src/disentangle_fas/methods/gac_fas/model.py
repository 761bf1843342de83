"""GAC-FAS's model (Le and Woo, CVPR 2024, ResNet-18): a trunk, global average pooling and
a cosine logistic classifier, assembled from library parts.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Self

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessPath, num_features_of
from disentangle_fas.methods.common.inputs import normalize_layer
from disentangle_fas.methods.common.model import MethodModel, check_in_features
from disentangle_fas.methods.gac_fas.config import GACFASConfig
from disentangle_fas.nn import pool
from disentangle_fas.registry import register_model_kind

__all__ = ["GACFAS", "CosineLogistic", "GACFASOutput"]


class GACFASOutput(NamedTuple):
    """What :class:`GACFAS` computes for a batch.

    Attributes:
        features: ``(B, D)`` pooled features (SupCon normalises them).
        logits: ``(B,)`` scaled cosine logits; ``sigmoid(logits)`` is P(live).
    """

    features: Tensor
    logits: Tensor


class CosineLogistic(nn.Module):
    """A one-output cosine classifier: ``s * cos(f, w)``, no bias (official
    ``NormedLogisticRegression`` with ``out_dim=1``, its logit scaled by ``logit_scale``
    before the sigmoid in ``helpers/loops.py``).

    Args:
        in_features: feature width ``D``.
        scale: the logit scale ``s`` (official 12).

    Shape:
        - Input: ``(B, D)`` or a map ``(B, D, h, w)`` (pooled first).
        - :meth:`forward`: ``(B,)``; :meth:`logits`: ``(B, 2)`` as ``(0, s cos)``, whose
          softmax's second column is ``sigmoid(s cos)``.

    Example:
        >>> head = CosineLogistic(8, scale=12.0)
        >>> head(torch.rand(3, 8)).shape
        torch.Size([3])
    """

    def __init__(self, in_features: int, *, scale: float = 12.0) -> None:
        super().__init__()
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"CosineLogistic: scale must be finite and > 0, got {scale}")
        self.in_features = int(in_features)
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(1, self.in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # official reset_parameters

    def forward(self, features: Tensor) -> Tensor:
        """Return the scaled cosine logit ``(B,)`` of each feature vector."""
        cos = F.linear(F.normalize(pool(features), dim=1), F.normalize(self.weight, dim=1))
        return self.scale * cos[:, 0]

    def logits(self, features: Tensor) -> Tensor:
        """Return two-class logits ``(0, s cos)``: ``softmax(...)[:, 1] = sigmoid(s cos)``."""
        z = self.forward(features)
        return torch.stack([torch.zeros_like(z), z], dim=1)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"in_features={self.in_features}, scale={self.scale}"


class GACFAS(MethodModel[GACFASConfig]):
    """GAC-FAS's network: ``Normalize -> trunk -> pool -> CosineLogistic`` (official
    ``models/resnet.py``: ResNet-18 layers, global average pooling, ``Dropout(0.0)``, the
    normed logistic regression). Training views are drawn by the method; evaluation feeds
    the image as it is (official test transform: resize and normalise only).

    What makes GAC-FAS is its training step, not its network
    (:func:`~disentangle_fas.methods.gac_fas.gac_backward`).

    Args:
        encoder: a trunk following the encoder contract.
        head: :class:`CosineLogistic` on its features.
        config: set by :meth:`from_config`.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: :class:`GACFASOutput`; :meth:`live_score`: ``(B,)``.

    Example:
        >>> model = GACFAS.from_config(GACFASConfig(num_domains=3, depth=10), warn_random=False)
        >>> model(torch.rand(2, 3, 32, 32)).logits.shape
        torch.Size([2])
    """

    def __init__(
        self, encoder: nn.Module, head: CosineLogistic, *, config: GACFASConfig | None = None
    ) -> None:
        super().__init__()
        check_in_features("head", head.in_features, num_features_of(encoder),
                          "the encoder's num_features")  # fmt: skip
        self.normalize = normalize_layer()
        self.encoder = encoder
        self.head = head
        self.config = config

    @classmethod
    def trunk_name(cls, config: GACFASConfig) -> str:
        """``config.backbone``, or ``resnet<depth>`` when it is ``None``."""
        return config.backbone or super().trunk_name(config)

    @classmethod
    def assemble(cls, config: GACFASConfig, encoder: nn.Module, *, pretrained: bool) -> Self:
        """The cosine head on ``encoder`` (all of it keeps its ImageNet weights: the official
        model starts from ImageNet).
        """
        head = CosineLogistic(num_features_of(encoder), scale=config.logit_scale)
        return cls(encoder, head, config=config)

    def embed(self, images: Tensor) -> Tensor:
        """Return the pooled features ``(B, D)`` of images in ``[0, 1]``."""
        return pool(self.encoder(self.normalize(images)))

    def forward(self, images: Tensor) -> GACFASOutput:
        """Features and scaled cosine logits of ``images`` (training views or test images)."""
        features = self.embed(images)
        return GACFASOutput(features, self.head(features))

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) = ``sigmoid(s cos(f, w))``, ``(B,)``."""
        return torch.sigmoid(self.head(self.embed(images)))

    def logits(self, images: Tensor) -> Tensor:
        """Two-class logits ``(B, 2)``; their softmax's second column is :meth:`live_score`."""
        return self.head.logits(self.embed(images))

    def liveness_path(self) -> LivenessPath:
        """``Normalize -> encoder -> CosineLogistic`` as one module (shares the weights)."""
        return LivenessPath(self.encoder, self.head, self.normalize)

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """``{"liveness": (B, D)}``: the pooled features."""
        return {"liveness": self.embed(images)}


register_model_kind("gac-fas", GACFAS, GACFASConfig)
