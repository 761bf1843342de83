"""Domain classification loss, the paper's eq. (3)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_logits, check_targets

__all__ = ["DomainLoss", "domain_loss"]


def domain_loss(logits: Tensor, domains: Tensor) -> Tensor:
    r"""Cross-entropy of the domain classifier, eq. (3), averaged over the batch.

    .. math:: L = -\frac{1}{B}\sum_j m_j^\top \log \operatorname{softmax}(C_D(E_D(x_j)))

    where ``m_j`` is the one-hot domain label. (The paper writes a sum over samples.)

    Args:
        logits: ``(B, S)`` domain logits.
        domains: ``(B,)`` domain indices in ``[0, S)``.

    Returns:
        Scalar tensor.

    Example:
        >>> round(domain_loss(torch.zeros(2, 4), torch.tensor([0, 3])).item(), 4)
        1.3863
    """
    check_logits("domain_loss", logits)
    check_targets("domain_loss", domains, logits.shape[0], logits.shape[1])
    return F.cross_entropy(logits, domains)


class DomainLoss(nn.Module):
    """Module form of :func:`domain_loss`.

    Shape:
        - Input: logits ``(B, S)``, domains ``(B,)``; output ``()``.
    """

    def forward(self, logits: Tensor, domains: Tensor) -> Tensor:
        """Compute :func:`domain_loss`."""
        return domain_loss(logits, domains)
