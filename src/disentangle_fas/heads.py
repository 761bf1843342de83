"""Heads on top of the encoders: the LMCL liveness classifier C_L, the domain classifier
C_D and the content decoder D_C.

Classifier heads accept either a pooled feature vector ``(B, d)`` or an encoder map
``(B, d, h, w)``, which they global-average-pool first.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.nn import pool

__all__ = [
    "DEFAULT_LMCL_MARGIN",
    "DEFAULT_LMCL_SCALE",
    "MAX_LMCL_MARGIN",
    "ContentDecoder",
    "DomainClassifier",
    "LMCLHead",
    "check_lmcl",
    "pool",
]

#: Default LMCL scale alpha. The paper gives no value. CosFace (Wang et al. 2018) bounds
#: the scale from below by (C-1)/C * log((C-1) P / (1 - P)) for a target posterior P: with
#: C = 2 and P = 0.999 that is ~3.5. 16 leaves room for the margin while keeping the
#: softmax of two classes from saturating early.
DEFAULT_LMCL_SCALE = 16.0
#: Largest accepted LMCL margin: beyond 1 the true class's cosine would have to beat the
#: other's by more than half of the cosine's range [-1, 1], which no feature can do well.
MAX_LMCL_MARGIN = 1.0
#: Default LMCL margin m, CosFace's recommended 0.35 (the paper gives no value).
DEFAULT_LMCL_MARGIN = 0.35


def check_lmcl(scale: float, margin: float) -> None:
    """Refuse an LMCL scale that is not a positive finite number, or a margin outside
    ``[0, MAX_LMCL_MARGIN]``.

    Raises:
        ValueError: naming the bad value.
    """
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive finite number, got {scale}")
    if not (math.isfinite(margin) and 0 <= margin <= MAX_LMCL_MARGIN):
        raise ValueError(
            f"margin must lie in [0, {MAX_LMCL_MARGIN}] (a cosine margin; CosFace uses 0.35), "
            f"got {margin}"
        )


class LMCLHead(nn.Module):
    """Large-margin cosine (CosFace) liveness classifier C_L.

    Holds one prototype per class, ``W = {W_0 (spoof), W_1 (live)}``. Both the prototypes and
    the feature are L2-normalised, so the output is the cosine similarity
    ``cos_k = W_k^T f / (|W_k| |f|)``. The margin is applied by the loss
    (:func:`disentangle_fas.losses.lmcl_loss`), never at inference.

    Args:
        in_features: feature dimension ``d``.
        num_classes: number of classes (2 for live/spoof).
        scale: alpha, the logit scale used by the loss, the confusion terms and
            :meth:`probabilities`.
        margin: m, the additive cosine margin used by the loss.

    Attributes:
        weight: ``(num_classes, in_features)`` prototypes (normalised on use).

    Shape:
        - Input: ``(B, d)`` or ``(B, d, h, w)``.
        - Output: ``(B, num_classes)`` cosines in ``[-1, 1]``.

    Example:
        >>> head = LMCLHead(512)
        >>> head(torch.randn(4, 512)).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int = 2,
        *,
        scale: float = DEFAULT_LMCL_SCALE,
        margin: float = DEFAULT_LMCL_MARGIN,
    ) -> None:
        super().__init__()
        if in_features <= 0 or num_classes < 2:
            raise ValueError("need in_features > 0 and num_classes >= 2")
        check_lmcl(scale, margin)
        self.in_features = in_features
        self.num_classes = num_classes
        self.scale = float(scale)
        self.margin = float(margin)
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, features: Tensor) -> Tensor:
        """Return cosine similarities to each class prototype; shapes in the class docstring."""
        f = F.normalize(pool(features), dim=1)
        w = F.normalize(self.weight, dim=1)
        cosine: Tensor = f @ w.t()
        return cosine

    def logits(self, features: Tensor) -> Tensor:
        """Return ``scale * cosine`` (no margin): the logits used for scores and confusion."""
        out: Tensor = self.scale * self(features)
        return out

    def probabilities(self, features: Tensor) -> Tensor:
        """Return ``softmax(scale * cosine)``, shape ``(B, num_classes)``."""
        return torch.softmax(self.logits(features), dim=1)

    def live_score(self, features: Tensor) -> Tensor:
        """Return P(live), the probability of class 1, shape ``(B,)``."""
        return self.probabilities(features)[:, 1]

    def extra_repr(self) -> str:
        """Describe the head in ``print(module)``."""
        return (
            f"in_features={self.in_features}, num_classes={self.num_classes}, "
            f"scale={self.scale}, margin={self.margin}"
        )


class DomainClassifier(nn.Module):
    """Domain classifier C_D: a linear layer, or a small MLP, from features to S domains.

    Contains no batch norm, so evaluating it with detached parameters for a confusion
    term has no side effect on running statistics.

    Args:
        in_features: feature dimension ``d``.
        num_domains: number of source domains ``S`` (>= 2).
        hidden: width of one hidden layer (ReLU, dropout); ``None`` for a linear classifier.
        dropout: dropout probability of the hidden layer.

    Shape:
        - Input: ``(B, d)`` or ``(B, d, h, w)``.
        - Output: ``(B, S)`` logits.
    """

    def __init__(
        self, in_features: int, num_domains: int, *, hidden: int | None = None, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if num_domains < 2:
            raise ValueError(f"a domain classifier needs at least 2 domains, got {num_domains}")
        self.in_features = in_features
        self.num_domains = num_domains
        if hidden is None:
            self.net: nn.Module = nn.Linear(in_features, num_domains)
        else:
            self.net = nn.Sequential(
                nn.Linear(in_features, hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(hidden, num_domains),
            )

    def forward(self, features: Tensor) -> Tensor:
        """Return domain logits; shapes in the class docstring."""
        out: Tensor = self.net(pool(features))
        return out


class ContentDecoder(nn.Module):
    """Content decoder D_C: upsamples E_C's map to the content target's shape.

    A stack of (2x nearest upsample, 3x3 conv, batch norm, ReLU) blocks, halving the
    channels each time (not below ``min_channels``), until the spatial size reaches the
    target's; a final 3x3 convolution produces the target's channels, and a bilinear resize
    fixes any remaining size difference. An optional sigmoid bounds the output to ``[0, 1]``
    for targets normalised to that range.

    Args:
        in_channels: channels of the encoder map (``num_features``).
        out_shape: the target's ``(C, H, W)``.
        in_size: spatial size ``(h, w)`` of the encoder map the decoder will see (sets the
            number of upsampling blocks).
        min_channels: lower bound on the channels of intermediate blocks.
        sigmoid: apply a sigmoid to the output.

    Shape:
        - Input: ``(B, in_channels, h, w)``
        - Output: ``(B, C, H, W)``
    """

    def __init__(
        self,
        in_channels: int,
        out_shape: tuple[int, int, int],
        *,
        in_size: tuple[int, int] = (8, 8),
        min_channels: int = 32,
        sigmoid: bool = True,
    ) -> None:
        super().__init__()
        c_out, h_out, w_out = out_shape
        if min(c_out, h_out, w_out, in_channels, *in_size) <= 0:
            raise ValueError(f"invalid shapes: in_channels={in_channels}, out_shape={out_shape}")
        self.out_shape = (c_out, h_out, w_out)
        blocks: list[nn.Module] = []
        channels, size = in_channels, max(in_size)
        while size < max(h_out, w_out):
            nxt = max(min_channels, channels // 2)
            blocks += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(channels, nxt, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(nxt),
                nn.ReLU(inplace=True),
            ]
            channels, size = nxt, size * 2
        self.blocks = nn.Sequential(*blocks)
        self.proj = nn.Conv2d(channels, c_out, kernel_size=3, padding=1)
        self.sigmoid = sigmoid

    def forward(self, features: Tensor) -> Tensor:
        """Decode an encoder map to the target's shape; shapes in the class docstring."""
        if features.ndim != 4:
            raise ValueError(
                f"ContentDecoder expects (B, C, h, w) maps, got {tuple(features.shape)}"
            )
        out: Tensor = self.proj(self.blocks(features))
        if tuple(out.shape[-2:]) != self.out_shape[1:]:
            out = F.interpolate(out, size=self.out_shape[1:], mode="bilinear", align_corners=False)
        return torch.sigmoid(out) if self.sigmoid else out
