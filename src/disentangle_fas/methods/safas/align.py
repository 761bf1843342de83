"""SA-FAS's alignment of the domain heads, applied after each optimizer step."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from disentangle_fas.methods.safas.heads import DomainLogisticHeads

__all__ = ["AlignmentResult", "align_heads", "align_heads_"]

_EPS = 1e-10  # the official ``normalizer``: x / (|x| + 1e-10)


class AlignmentResult(NamedTuple):
    """The aligned head weights and the mean pairwise cosine of the heads before the update.

    Attributes:
        weight: ``(S, D)`` new weights.
        mean_cosine: mean of ``cos(w_i, w_j)`` over the pairs ``i < j``, before the update
            (the official ``update_weight_v4`` returns it as ``angle``).
    """

    weight: Tensor
    mean_cosine: float


def align_heads(weight: Tensor, alpha: float) -> AlignmentResult:
    r"""Move each head's direction towards the head it disagrees with most; keep its norm.

    The official ``networks/resnet_lgt.py::update_weight_v4`` (``--align v4``), for every
    head ``i`` with direction ``b_i = w_i / |w_i|``:

    .. math::
        j^* = \arg\min_{j \ne i} b_i \cdot b_j, \qquad
        w_i \leftarrow |w_i|\;\frac{\alpha b_i + (1 - \alpha) b_{j^*}}
            {|\alpha b_i + (1 - \alpha) b_{j^*}|}

    all partners chosen from the directions before the update. This is the paper's
    projected-gradient step towards aligned (domain-invariant) decision boundaries,
    applied to the weights after the optimizer's step, not a loss term. The official code
    is written for three heads; this is the same rule for any ``S >= 2`` (with two heads
    each one's partner is the other; ties go to the lower index, as Python's ``min``).

    Args:
        weight: ``(S, D)`` head weights (not modified).
        alpha: ``0 <= alpha <= 1``; 1 leaves the weights unchanged (official: 0.995).

    Returns:
        :class:`AlignmentResult`.

    Raises:
        ValueError: fewer than 2 heads, or ``alpha`` outside ``[0, 1]``.

    Shape:
        - weight: ``(S, D)``; result weight ``(S, D)``.

    Example:
        >>> w = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        >>> align_heads(w, 0.5).weight.norm(dim=1)
        tensor([1., 2.])
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2 or weight.shape[0] < 2:
        raise ValueError(
            f"align_heads: expected a (S, D) weight with S >= 2, got {getattr(weight, 'shape', weight)}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"align_heads: alpha must lie in [0, 1], got {alpha}")
    w = weight.detach()
    norms = w.norm(dim=1, keepdim=True)
    b = w / (norms + _EPS)
    cos = b @ b.T
    s = w.shape[0]
    others = cos.masked_fill(torch.eye(s, dtype=torch.bool, device=w.device), float("inf"))
    partner = others.argmin(dim=1)
    moved = alpha * b + (1.0 - alpha) * b[partner]
    new = moved / (moved.norm(dim=1, keepdim=True) + _EPS) * norms
    upper = torch.triu(torch.ones(s, s, dtype=torch.bool, device=w.device), diagonal=1)
    return AlignmentResult(new, float(cos[upper].mean()))


@torch.no_grad()
def align_heads_(heads: DomainLogisticHeads, alpha: float) -> float:
    """Apply :func:`align_heads` to ``heads.weight`` in place.

    Args:
        heads: the model's domain heads.
        alpha: the alignment step.

    Returns:
        The mean pairwise cosine of the heads before the update.
    """
    result = align_heads(heads.weight, alpha)
    heads.weight.copy_(result.weight)
    return result.mean_cosine
