"""The difference loss of Domain Separation Networks (Bousmalis et al., NeurIPS 2016): a soft
orthogonality constraint between two representations of the same batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_features
from disentangle_fas.nn import pool

__all__ = ["DifferenceLoss", "difference_loss"]


def difference_loss(a: Tensor, b: Tensor) -> Tensor:
    r"""Squared Frobenius norm of the cross-correlation of two representations, DSN's
    difference loss, divided by ``B^2``.

    .. math::
        L = \frac{1}{B^2}\,\bigl\| \hat A^\top \hat B \bigr\|_F^2,
        \qquad \hat A_j = \frac{a_j - \bar a}{\|a_j - \bar a\|_2}

    Each representation is centred over the batch (``\bar a`` the batch mean), then every
    row is L2-normalised, as in the released DSN code. The loss is zero exactly when every
    direction of ``A`` is uncorrelated with every direction of ``B`` over the batch
    (``\hat A^\top \hat B = 0``); it lies in ``[0, 1]``. Bousmalis et al. write the squared
    norm itself; dividing by ``B^2`` (ours) makes it a mean over pairs of samples, since
    ``\|\hat A^\top \hat B\|_F^2 = \sum_{i,j} (\hat a_i\cdot\hat a_j)(\hat b_i\cdot\hat b_j)``.
    Its expectation for independent features is about ``1/B`` (the ``i = j`` terms, which
    are 1 and have no gradient), not 0.

    It removes only linear correlation between the two representations, not dependence,
    and only what ``b`` carries. Half-precision inputs are computed in float32, outside
    autocast.

    Args:
        a: ``(B, d)`` features (maps ``(B, d, h, w)`` are average-pooled).
        b: ``(B, e)`` features of the same samples.

    Returns:
        Scalar tensor, differentiable in both.

    Raises:
        ValueError: different batch sizes, or fewer than 2 samples.

    Shape:
        - ``a``: ``(B, d)``; ``b``: ``(B, e)``; output ``()``.

    Example:
        >>> a = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
        >>> b = torch.tensor([[0.0, 1.0], [0.0, 1.0], [0.0, -1.0], [0.0, -1.0]])
        >>> float(difference_loss(a, b)), float(difference_loss(a, a))
        (0.0, 1.0)
    """
    a, b = pool(a), pool(b)
    check_features("difference_loss", a)
    check_features("difference_loss", b)
    n = a.shape[0]
    if b.shape[0] != n or n < 2:
        raise ValueError(
            f"difference_loss: a and b need the same number B >= 2 of rows, got {n} and "
            f"{b.shape[0]}"
        )
    if a.dtype in (torch.float16, torch.bfloat16):
        a = a.float()
    if b.dtype in (torch.float16, torch.bfloat16):
        b = b.float()
    with torch.autocast(a.device.type, enabled=False):  # float32 under AMP
        b = b.to(a.dtype)
        a_hat = F.normalize(a - a.mean(0, keepdim=True), dim=1)
        b_hat = F.normalize(b - b.mean(0, keepdim=True), dim=1)
        return (a_hat.T @ b_hat).pow(2).sum() / (n * n)


class DifferenceLoss(nn.Module):
    """Module form of :func:`difference_loss`.

    Shape:
        - Input: ``(B, d)`` and ``(B, e)``; output ``()``.

    Example:
        >>> DifferenceLoss()(torch.randn(8, 4), torch.randn(8, 3)).shape
        torch.Size([])
    """

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        """Compute :func:`difference_loss`."""
        return difference_loss(a, b)
