"""Content loss, the paper's eq. (1): regress the content target from E_C's features."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ContentLoss", "content_loss"]


def content_loss(prediction: Tensor, target: Tensor, *, per_element: bool = True) -> Tensor:
    r"""Squared error between the decoded content and the (frozen) content target.

    Eq. (1) is ``sum_j |D_C(E_C(x_j)) - Phi(x_j)|_2^2``. This function averages over the
    batch instead of summing, so the scale does not depend on the batch size, and by
    default also over the elements of one target (``per_element=True``, i.e. the mean
    squared error), so the scale does not depend on the target's resolution either.
    With ``per_element=False`` it returns the batch mean of the per-sample squared L2 norm.

    The target is always detached: no gradient ever reaches the teacher.

    Args:
        prediction: ``(B, C, H, W)`` (or any ``(B, ...)``) decoder output.
        target: same shape as ``prediction``.
        per_element: average over elements (default) or sum them per sample.

    Returns:
        Scalar tensor.

    Raises:
        ValueError: shapes differ.

    Example:
        >>> content_loss(torch.ones(2, 1, 4, 4), torch.zeros(2, 1, 4, 4)).item()
        1.0
    """
    if prediction.shape != target.shape:
        raise ValueError(
            f"content_loss: prediction {tuple(prediction.shape)} and target "
            f"{tuple(target.shape)} differ; size the ContentDecoder with the target's shape"
        )
    if prediction.ndim < 1 or prediction.shape[0] == 0:
        raise ValueError("content_loss: empty batch")
    sq = (prediction - target.detach().to(prediction.dtype)).pow(2).flatten(1)
    per_sample = sq.mean(dim=1) if per_element else sq.sum(dim=1)
    return per_sample.mean()


class ContentLoss(nn.Module):
    """Module form of :func:`content_loss`.

    Args:
        per_element: see :func:`content_loss`.

    Shape:
        - Input: prediction and target ``(B, ...)``; output ``()``.
    """

    def __init__(self, per_element: bool = True) -> None:
        super().__init__()
        self.per_element = per_element

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        """Compute :func:`content_loss`."""
        return content_loss(prediction, target, per_element=self.per_element)
