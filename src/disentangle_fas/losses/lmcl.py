"""Large Margin Cosine Loss (LMCL, CosFace), the paper's liveness loss, eq. (5)."""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_logits, check_targets
from disentangle_fas.heads import DEFAULT_LMCL_MARGIN, DEFAULT_LMCL_SCALE

__all__ = ["LMCLLoss", "lmcl_loss"]


def lmcl_loss(
    cosine: Tensor,
    labels: Tensor,
    *,
    scale: float = DEFAULT_LMCL_SCALE,
    margin: float = DEFAULT_LMCL_MARGIN,
) -> Tensor:
    r"""Large margin cosine loss, eq. (5) of the paper, averaged over the batch.

    .. math::
        L = -\frac{1}{B}\sum_j \log \frac{e^{\alpha(\cos_{y_j} - m)}}
            {e^{\alpha(\cos_{y_j} - m)} + \sum_{k \ne y_j} e^{\alpha \cos_k}}

    i.e. cross-entropy on ``scale * (cosine - margin * onehot(labels))``. The paper writes
    a sum over samples; the mean keeps the loss scale independent of the batch size.

    Args:
        cosine: ``(B, K)`` cosine similarities from :class:`~disentangle_fas.heads.LMCLHead`.
        labels: ``(B,)`` integer classes (1 = live, 0 = spoof for K = 2).
        scale: alpha > 0.
        margin: m >= 0 (0 gives a normalised softmax loss).

    Returns:
        Scalar tensor.

    Shape:
        - cosine: ``(B, K)``, labels: ``(B,)``; output ``()``.

    Example:
        >>> cos = torch.tensor([[0.2, 0.9], [0.8, -0.1]])
        >>> lmcl_loss(cos, torch.tensor([1, 0]), scale=16.0, margin=0.35).item() > 0
        True
    """
    check_logits("lmcl_loss", cosine)
    check_targets("lmcl_loss", labels, cosine.shape[0], cosine.shape[1])
    _check_scale_margin("lmcl_loss", scale, margin)
    onehot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)
    return F.cross_entropy(scale * (cosine - margin * onehot), labels)


class LMCLLoss(nn.Module):
    """Module form of :func:`lmcl_loss`.

    Args:
        scale: alpha.
        margin: m.

    Shape:
        - Input: cosine ``(B, K)``, labels ``(B,)``; output ``()``.
    """

    def __init__(
        self, scale: float = DEFAULT_LMCL_SCALE, margin: float = DEFAULT_LMCL_MARGIN
    ) -> None:
        super().__init__()
        _check_scale_margin("LMCLLoss", scale, margin)
        self.scale = scale
        self.margin = margin

    def forward(self, cosine: Tensor, labels: Tensor) -> Tensor:
        """Compute :func:`lmcl_loss` with the module's scale and margin."""
        return lmcl_loss(cosine, labels, scale=self.scale, margin=self.margin)


def _check_scale_margin(name: str, scale: float, margin: float) -> None:
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"{name}: scale must be a positive finite number, got {scale}")
    if not (math.isfinite(margin) and margin >= 0):
        raise ValueError(f"{name}: margin must be a non-negative finite number, got {margin}")
