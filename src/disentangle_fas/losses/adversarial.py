"""The domain-adversarial loss of DANN (Ganin & Lempitsky, "Unsupervised Domain Adaptation
by Backpropagation", ICML 2015): an adversary reads a label from a representation through a
gradient reversal layer, so one backward pass trains the adversary to read it and the
encoder to hide it.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_logits, check_targets
from disentangle_fas.nn import GradientReversal, grad_reverse

__all__ = ["AdversarialLoss", "adversarial_loss"]


def adversarial_loss(
    features: Tensor, labels: Tensor, adversary: nn.Module, *, coeff: float = 1.0
) -> Tensor:
    r"""Cross-entropy of ``adversary`` on gradient-reversed ``features``, batch mean.

    .. math::
        L = \frac{1}{B}\sum_j \mathrm{CE}\bigl(A(\mathrm{GRL}_\lambda(f_j)),\, t_j\bigr)

    The value is the adversary's cross-entropy. Its gradient trains the adversary ``A`` to
    predict ``t`` (ordinary descent on its parameters) and reaches the features multiplied by
    ``-coeff``: the encoder that made them ascends the adversary's loss (DANN).

    Args:
        features: ``(B, d)`` (or ``(B, d, h, w)``, pooled by the adversary) representation.
        labels: ``(B,)`` class indices the adversary must not be able to read.
        adversary: a classifier ``(B, d) -> (B, K)`` logits (e.g.
            :class:`~disentangle_fas.heads.DomainClassifier`).
        coeff: the reversal strength ``lambda >= 0`` (a schedule such as
            :func:`~disentangle_fas.nn.grl_schedule` usually sets it).

    Returns:
        Scalar tensor.

    Shape:
        - ``features``: ``(B, d)``; ``labels``: ``(B,)``; output ``()``.

    Example:
        >>> from disentangle_fas.heads import DomainClassifier
        >>> f = torch.randn(4, 8, requires_grad=True)
        >>> adversarial_loss(f, torch.tensor([0, 1, 2, 0]), DomainClassifier(8, 3)).shape
        torch.Size([])
    """
    logits = adversary(grad_reverse(features, coeff))
    check_logits("adversarial_loss", logits)
    check_targets("adversarial_loss", labels, logits.shape[0], logits.shape[1])
    return F.cross_entropy(logits, labels)


class AdversarialLoss(nn.Module):
    """Module form of :func:`adversarial_loss`, owning its adversary and reversal layer.

    Args:
        adversary: the classifier (a registered submodule: an optimizer over this module
            trains it).
        coeff: the initial reversal strength (``self.grl.coeff`` to change it).

    Shape:
        - Input: ``(B, d)`` features, ``(B,)`` labels; output ``()``.

    Example:
        >>> from disentangle_fas.heads import DomainClassifier
        >>> loss = AdversarialLoss(DomainClassifier(8, 3))
        >>> loss(torch.randn(4, 8), torch.tensor([0, 1, 2, 0])).shape
        torch.Size([])
    """

    def __init__(self, adversary: nn.Module, coeff: float = 1.0) -> None:
        super().__init__()
        self.adversary = adversary
        self.grl = GradientReversal(coeff)

    def forward(self, features: Tensor, labels: Tensor) -> Tensor:
        """Compute :func:`adversarial_loss` with the module's adversary and coefficient."""
        return adversarial_loss(features, labels, self.adversary, coeff=self.grl.coeff)
