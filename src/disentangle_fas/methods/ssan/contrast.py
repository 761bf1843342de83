"""SSAN's contrastive loss on assembled features (Wang et al., CVPR 2022, eq. 7)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_features, check_labels

__all__ = ["AssemblyContrastLoss", "assembly_contrast_loss", "contrast_signs"]


def contrast_signs(labels: Tensor, partner_labels: Tensor) -> Tensor:
    """Return ``+1`` where a sample and its style partner share the liveness label, else ``-1``.

    The official ``solver.py``: ``torch.where(label == label[rand_idx], 1, -1)``.

    Args:
        labels: ``(B,)`` 1 = live, 0 = spoof.
        partner_labels: ``(B,)`` the labels of the samples whose style was assembled in.

    Returns:
        ``(B,)`` integer tensor of ``+1`` / ``-1``.

    Shape:
        - labels, partner_labels and output: ``(B,)``.

    Example:
        >>> contrast_signs(torch.tensor([1, 0, 1]), torch.tensor([1, 1, 0]))
        tensor([ 1, -1, -1])
    """
    check_labels("contrast_signs", labels, None)
    check_labels("contrast_signs", partner_labels, labels.shape[0])
    same = labels == partner_labels
    return torch.where(same, torch.ones_like(labels), -torch.ones_like(labels))


def assembly_contrast_loss(
    self_assembled: Tensor, cross_assembled: Tensor, signs: Tensor
) -> Tensor:
    r"""Contrastive loss between self- and cross-assembled features, eq. (7) of SSAN.

    .. math::
        L_{contra} = \frac{1}{B}\sum_i -\,s_i\,\cos\big(\mathrm{sg}(a_i),\, r_i\big)

    with ``a_i`` the self-assembled feature (content and style of sample ``i``), ``r_i``
    the cross-assembled one (content of ``i``, style of its partner), ``sg`` the
    stop-gradient and ``s_i = +1`` when ``i`` and its partner have the same liveness label,
    ``-1`` otherwise. It pulls ``r_i`` towards ``a_i`` when the partner's style comes from
    the same class and pushes it away otherwise; the anchor never receives a gradient.
    The official ``loss/__init__.py::ContrastLoss`` computes the same
    (``-(cosine_similarity(anchor.detach(), reassembly)) * label``, then the mean).

    Args:
        self_assembled: ``(B, D)`` anchors ``a`` (detached here).
        cross_assembled: ``(B, D)`` re-assembled features ``r``.
        signs: ``(B,)`` ``+1`` / ``-1`` (:func:`contrast_signs`).

    Returns:
        Scalar tensor in ``[-1, 1]``.

    Raises:
        TypeError, ValueError: malformed features or signs, or an empty batch.

    Shape:
        - self_assembled, cross_assembled: ``(B, D)``; signs: ``(B,)``; output ``()``.

    Example:
        >>> a = torch.randn(3, 8)
        >>> assembly_contrast_loss(a, a, torch.tensor([1, 1, 1])).item()
        -1.0
    """
    check_features("assembly_contrast_loss", self_assembled)
    check_features("assembly_contrast_loss", cross_assembled)
    if self_assembled.shape[0] == 0:
        raise ValueError("assembly_contrast_loss: empty batch")
    if self_assembled.shape != cross_assembled.shape:
        raise ValueError(
            "assembly_contrast_loss: self- and cross-assembled features differ in shape: "
            f"{tuple(self_assembled.shape)} vs {tuple(cross_assembled.shape)}"
        )
    if not isinstance(signs, Tensor) or tuple(signs.shape) != (self_assembled.shape[0],):
        raise ValueError(
            f"assembly_contrast_loss: expected signs of shape ({self_assembled.shape[0]},), "
            f"got {tuple(getattr(signs, 'shape', ()))}"
        )
    if not bool(((signs == 1) | (signs == -1)).all()):
        raise ValueError("assembly_contrast_loss: signs must be +1 or -1")
    cosine = F.cosine_similarity(self_assembled.detach(), cross_assembled, dim=-1)
    return -(cosine * signs.to(cosine.dtype)).mean()


class AssemblyContrastLoss(nn.Module):
    """Module form of :func:`assembly_contrast_loss` (no parameters).

    Shape:
        - Input: two ``(B, D)`` feature batches and ``(B,)`` signs; output ``()``.
    """

    def forward(self, self_assembled: Tensor, cross_assembled: Tensor, signs: Tensor) -> Tensor:
        """Compute :func:`assembly_contrast_loss`."""
        return assembly_contrast_loss(self_assembled, cross_assembled, signs)
