"""SA-FAS's classifier: one logistic regression head per source domain."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_features, check_index_vector, check_labels

__all__ = ["DomainLogisticHeads", "per_domain_bce"]


class DomainLogisticHeads(nn.Module):
    r"""``S`` logistic heads on one feature: ``z_s = scale * (w_s \cdot f + b_s)``.

    The official ``ResNet`` of ``networks/resnet_lgt.py`` holds ``fc0``, ``fc1``, ``fc2``
    (``LogisticRegression``: a ``(1, D)`` weight initialised like ``nn.Linear``, a bias, a
    sigmoid of ``scale * (w f + b)``); here their weights are the rows of one ``(S, D)``
    matrix. Training fits head ``s`` on the images of domain ``s`` only
    (:func:`per_domain_bce`); P(live) at inference is the mean of the ``S`` sigmoids
    (``out_type='all'``).

    Args:
        in_features: feature width ``D``.
        num_domains: ``S >= 2``.
        scale: fixed logit scale (official: 1).

    Attributes:
        weight: ``(S, D)`` head directions (what the alignment moves).
        bias: ``(S,)``.

    Shape:
        - Input: ``(B, D)``; :meth:`forward`: ``(B, S)`` logits; :meth:`live_score`: ``(B,)``.

    Example:
        >>> heads = DomainLogisticHeads(8, 3)
        >>> heads(torch.randn(2, 8)).shape
        torch.Size([2, 3])
    """

    def __init__(self, in_features: int, num_domains: int, *, scale: float = 1.0) -> None:
        super().__init__()
        if num_domains < 2:
            raise ValueError(f"DomainLogisticHeads needs at least 2 domains, got {num_domains}")
        if in_features <= 0:
            raise ValueError(f"in_features must be positive, got {in_features}")
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be finite and > 0, got {scale}")
        self.in_features = in_features
        self.num_domains = num_domains
        self.scale = float(scale)
        self.weight = nn.Parameter(torch.empty(num_domains, in_features))
        self.bias = nn.Parameter(torch.empty(num_domains))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, features: Tensor) -> Tensor:
        """Return the ``(B, S)`` logits ``scale * (f W^T + b)``."""
        check_features("DomainLogisticHeads", features)
        return self.scale * F.linear(features, self.weight, self.bias)

    def live_score(self, features: Tensor) -> Tensor:
        """Return P(live), the mean over heads of ``sigmoid(z_s)``, shape ``(B,)``."""
        return torch.sigmoid(self(features)).mean(dim=1)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"in_features={self.in_features}, num_domains={self.num_domains}, scale={self.scale}"


def per_domain_bce(logits: Tensor, labels: Tensor, domains: Tensor) -> Tensor:
    r"""Each head's binary cross-entropy on its own domain, averaged over the ``S`` heads.

    .. math::
        L_{cls} = \frac{1}{S}\sum_{s=1}^{S} \frac{1}{|B_s|}\sum_{i \in B_s}
            \mathrm{BCE}(\sigma(z_{i,s}), y_i)

    with ``B_s`` the images of domain ``s``. The official ``train.py::binary_func_sep``
    computes the same (``nn.BCELoss`` on each head's sigmoid, the sum divided by 3); a
    domain absent from the batch contributes 0, as there. Computed from logits for
    numerical stability.

    Args:
        logits: ``(B, S)`` head logits.
        labels: ``(B,)`` 1 = live, 0 = spoof.
        domains: ``(B,)`` in ``[0, S)``.

    Returns:
        Scalar tensor.

    Raises:
        ValueError: an empty batch, malformed labels or domains out of range.

    Shape:
        - logits: ``(B, S)``; labels, domains: ``(B,)``; output ``()``.

    Example:
        >>> z = torch.zeros(4, 2)
        >>> round(per_domain_bce(z, torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])).item(), 4)
        0.6931
    """
    check_features("per_domain_bce", logits)
    if logits.shape[0] == 0:
        raise ValueError("per_domain_bce: empty batch")
    check_labels("per_domain_bce", labels, logits.shape[0])
    check_index_vector("per_domain_bce", "domains", domains, logits.shape[0])
    s = logits.shape[1]
    if domains.numel() and int(domains.max()) >= s:
        raise ValueError(f"per_domain_bce: domains must lie in [0, {s}), got {int(domains.max())}")
    own = logits.gather(1, domains[:, None]).squeeze(1)
    each = F.binary_cross_entropy_with_logits(own, labels.to(own.dtype), reduction="none")
    sums = torch.zeros(s, dtype=each.dtype, device=each.device).index_add(0, domains, each)
    counts = torch.bincount(domains, minlength=s).to(each.dtype)
    return (sums / counts.clamp(min=1)).sum() / s
