"""Confusion loss, the paper's eqs. (2), (4), (6): push a classifier's softmax to uniform."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import functional_call

from disentangle_fas.checks import check_logits

__all__ = ["ConfusionLoss", "confusion_loss", "frozen_call"]


def confusion_loss(logits: Tensor) -> Tensor:
    r"""Squared distance of the softmax probabilities to the uniform vector, batch mean.

    .. math::
        L = \frac{1}{B}\sum_j \left\| \operatorname{softmax}(z_j) - \tfrac{1}{K}\mathbf{1}
            \right\|_2^2

    With K = 2 this is eq. (4) (and the first term of eq. (2)): ``|C_L(.) - 1/2|^2``; with
    K = S it is eq. (6) (and the second term of eq. (2)): ``|C_D(.) - 1/S|^2``. The paper
    writes a sum over samples; the mean keeps the scale independent of the batch size.
    The value lies in ``[0, 1 - 1/K]``; it is 0 exactly when the prediction is uniform.

    To confuse a classifier without letting the classifier itself move towards uniform
    outputs, compute ``logits`` with :func:`frozen_call` (the classifier's parameters
    detached), so gradients reach only the encoder.

    Args:
        logits: ``(B, K)`` classifier logits (for an LMCL head: ``scale * cosine``).

    Returns:
        Scalar tensor.

    Shape:
        - Input: ``(B, K)``; output ``()``.

    Example:
        >>> confusion_loss(torch.zeros(3, 2)).item()
        0.0
    """
    check_logits("confusion_loss", logits)
    probs = torch.softmax(logits, dim=1)
    uniform = 1.0 / logits.shape[1]
    return (probs - uniform).pow(2).sum(dim=1).mean()


def frozen_call(module: nn.Module, *args: Tensor) -> Tensor:
    """Call ``module`` with its parameters detached from autograd.

    Gradients flow to the inputs but never to the module's parameters, which is what a
    confusion term needs: the encoder learns to confuse the classifier; the classifier does
    not learn to be confused. Buffers are used as they are (the library's classifiers have
    none).

    Args:
        module: the classifier (any ``nn.Module``).
        *args: the inputs of its ``forward``.

    Returns:
        The output of ``module(*args)``, differentiable with respect to ``args`` only.
    """
    params = {name: p.detach() for name, p in module.named_parameters()}
    out: Tensor = functional_call(module, params, args)
    return out


class ConfusionLoss(nn.Module):
    """Module form of :func:`confusion_loss`.

    Shape:
        - Input: ``(B, K)`` logits; output ``()``.
    """

    def forward(self, logits: Tensor) -> Tensor:
        """Compute :func:`confusion_loss`."""
        return confusion_loss(logits)
