"""SSDG's asymmetric triplet loss.

Real faces of all domains form one class, fake faces one class per source domain; the loss
is the batch-all triplet loss with a margin.
"""

from __future__ import annotations

import math
from typing import Literal, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from typing_extensions import Unpack

from disentangle_fas.checks import check_features, check_index_vector, check_labels

__all__ = [
    "DEFAULT_TRIPLET_MARGIN",
    "AsymmetricTripletLoss",
    "TripletOptions",
    "TripletReduction",
    "asymmetric_classes",
    "asymmetric_triplet_loss",
    "batch_all_triplet_loss",
    "pairwise_distances",
]

#: The official SSDG margin: ``HardTripletLoss(margin=0.1, hardest=False)`` in every
#: ``experiment/*/train_ssdg_full.py`` of taylover-pei/SSDG-CVPR2020.
DEFAULT_TRIPLET_MARGIN = 0.1

#: How the per-triplet losses are averaged: ``"positive"`` divides their sum by the number
#: of triplets whose loss is > 0 (the official code); ``"valid"`` by the number of valid
#: triplets.
TripletReduction = Literal["positive", "valid"]


class TripletOptions(TypedDict, total=False):
    """The keyword options of :func:`batch_all_triplet_loss` that its wrappers pass on.

    Attributes:
        squared: use squared Euclidean distances (default False, as the official code).
        reduction: how the per-triplet losses are averaged (default ``"positive"``).
    """

    squared: bool
    reduction: TripletReduction


_POSITIVE_EPS = 1e-16  # the official code's threshold for "loss > 0"


def asymmetric_classes(labels: Tensor, domains: Tensor) -> Tensor:
    """Map (liveness label, domain) to SSDG's asymmetric triplet classes.

    Every real face is class 0, whatever its domain; a fake face of domain ``d`` is class
    ``d + 1``. This is the official code's ``source_domain_label`` (real 0, fake of source
    1/2/3 -> 1/2/3).

    Args:
        labels: ``(B,)`` integers, 1 = live, 0 = spoof.
        domains: ``(B,)`` non-negative domain indices.

    Returns:
        ``(B,)`` int64 classes.

    Raises:
        TypeError, ValueError: malformed labels or domains.

    Example:
        >>> asymmetric_classes(torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 2, 2]))
        tensor([0, 1, 0, 3])
    """
    check_labels("asymmetric_classes", labels, None)
    check_index_vector("asymmetric_classes", "domains", domains, labels.shape[0])
    return torch.where(labels == 1, torch.zeros_like(domains), domains + 1).long()


def pairwise_distances(features: Tensor, *, squared: bool = False) -> Tensor:
    """Euclidean distance matrix between the rows of ``features``.

    Computed from the coordinate differences (``torch.cdist`` without its matrix-product
    shortcut), which stays accurate for nearby points, unlike the Gram-matrix expansion
    ``|a|^2 - 2 a.b + |b|^2`` of the official code (equal up to rounding). Identical rows
    give distance 0 with a zero, not NaN, gradient.

    Args:
        features: ``(B, d)``.
        squared: return squared distances.

    Returns:
        ``(B, B)`` distances with an exactly zero diagonal.

    Shape:
        - Input: ``(B, d)``; output ``(B, B)``.
    """
    check_features("pairwise_distances", features)
    dist = torch.cdist(features, features, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")
    return dist.square() if squared else dist


def batch_all_triplet_loss(
    features: Tensor,
    classes: Tensor,
    margin: float = DEFAULT_TRIPLET_MARGIN,
    *,
    squared: bool = False,
    reduction: TripletReduction = "positive",
) -> Tensor:
    r"""Batch-all triplet loss over every valid triplet of a batch.

    A triplet ``(a, p, n)`` is valid when the three indices differ, ``classes[a] ==
    classes[p]`` and ``classes[a] != classes[n]``. Its loss is
    ``max(0, D(a, p) - D(a, n) + margin)`` with ``D`` the Euclidean distance (squared when
    ``squared``).

    Args:
        features: ``(B, d)`` embeddings (SSDG uses normalised features).
        classes: ``(B,)`` non-negative integer classes.
        margin: ``>= 0``.
        squared: use squared distances (the official code does not).
        reduction: ``"positive"`` (default, the official code): sum over triplets divided
            by the number of triplets with loss > 0; ``"valid"``: divided by the number of
            valid triplets. See :func:`asymmetric_triplet_loss` for why.

    Returns:
        Scalar tensor; 0 (still attached to the graph) when no triplet is valid or none has
        a positive loss.

    Raises:
        TypeError, ValueError: malformed inputs, negative margin, unknown reduction.

    Shape:
        - features: ``(B, d)``, classes: ``(B,)``; output ``()``.
    """
    check_features("batch_all_triplet_loss", features)
    check_index_vector("batch_all_triplet_loss", "classes", classes, features.shape[0])
    if not (math.isfinite(float(margin)) and margin >= 0):
        raise ValueError(f"batch_all_triplet_loss: margin must be finite and >= 0, got {margin}")
    if reduction not in ("positive", "valid"):
        raise ValueError(
            f"batch_all_triplet_loss: reduction must be 'positive' or 'valid', got {reduction!r}"
        )
    dist = pairwise_distances(features, squared=squared)
    classes = classes.to(features.device)
    b = features.shape[0]
    same = classes.unsqueeze(0) == classes.unsqueeze(1)
    distinct = ~torch.eye(b, dtype=torch.bool, device=features.device)
    anchor_positive = same & distinct  # (a, p)
    anchor_negative = ~same  # (a, n); implies a != n and p != n
    valid = anchor_positive.unsqueeze(2) & anchor_negative.unsqueeze(1)  # (a, p, n)
    per_triplet = F.relu(dist.unsqueeze(2) - dist.unsqueeze(1) + margin) * valid
    total = per_triplet.sum()
    count = (per_triplet > _POSITIVE_EPS).sum() if reduction == "positive" else valid.sum()
    return total / count.clamp(min=1).to(total.dtype)


def asymmetric_triplet_loss(
    features: Tensor,
    labels: Tensor,
    domains: Tensor,
    margin: float = DEFAULT_TRIPLET_MARGIN,
    **options: Unpack[TripletOptions],
) -> Tensor:
    r"""SSDG's asymmetric triplet loss.

    Real faces of all source domains form one class and fake faces one class per domain
    (:func:`asymmetric_classes`); then the batch-all triplet loss
    (:func:`batch_all_triplet_loss`) pulls real faces together across domains, keeps each
    domain's fakes together, and pushes fakes of different domains apart from each other
    and from the reals by ``margin``:

    .. math::
        L = \frac{1}{N}\sum_{(a,p,n)\ \mathrm{valid}}
            \max\bigl(0,\ \|f_a - f_p\|_2 - \|f_a - f_n\|_2 + m\bigr)

    **Averaging.** With ``reduction="positive"`` (default) ``N`` is the number of valid
    triplets whose loss is positive, exactly as the official code
    (``loss/hard_triplet_loss.py``, ``HardTripletLoss(margin=0.1, hardest=False)``: sum
    divided by the count of triplets with loss > 1e-16). Once most triplets satisfy the
    margin, a mean over all valid triplets shrinks towards zero with them and the remaining
    hard triplets stop contributing; dividing by the number of active triplets keeps their
    gradient at a constant scale. ``reduction="valid"`` averages over every valid triplet
    instead (smoother, smaller). Both are 0 when no triplet is active.

    Args:
        features: ``(B, d)`` embeddings; SSDG feeds the L2-normalised features.
        labels: ``(B,)`` 1 = live, 0 = spoof.
        domains: ``(B,)`` non-negative source-domain indices.
        margin: the triplet margin ``m`` (official: 0.1).
        **options: ``squared`` (use squared Euclidean distances; official: no) and
            ``reduction`` (``"positive"`` or ``"valid"``, see above), passed on to
            :func:`batch_all_triplet_loss` (:class:`TripletOptions`).

    Returns:
        Scalar tensor.

    Raises:
        TypeError, ValueError: malformed inputs.

    Shape:
        - features: ``(B, d)``, labels and domains: ``(B,)``; output ``()``.

    Example:
        >>> f = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])
        >>> y, d = torch.tensor([1, 1, 0, 0]), torch.tensor([0, 1, 0, 1])
        >>> asymmetric_triplet_loss(f, y, d).item()  # reals together, fakes far apart
        0.0
    """
    check_features("asymmetric_triplet_loss", features)
    check_labels("asymmetric_triplet_loss", labels, features.shape[0])
    classes = asymmetric_classes(labels, domains)
    return batch_all_triplet_loss(features, classes, margin, **options)


class AsymmetricTripletLoss(nn.Module):
    """Module form of :func:`asymmetric_triplet_loss`.

    Args:
        margin: triplet margin (official 0.1).
        squared: use squared distances.
        reduction: ``"positive"`` (official) or ``"valid"``.

    Shape:
        - Input: features ``(B, d)``, labels ``(B,)``, domains ``(B,)``; output ``()``.
    """

    def __init__(
        self,
        margin: float = DEFAULT_TRIPLET_MARGIN,
        *,
        squared: bool = False,
        reduction: TripletReduction = "positive",
    ) -> None:
        super().__init__()
        self.margin = margin
        self.squared = squared
        self.reduction: TripletReduction = reduction

    def forward(self, features: Tensor, labels: Tensor, domains: Tensor) -> Tensor:
        """Compute :func:`asymmetric_triplet_loss` with the module's settings."""
        return asymmetric_triplet_loss(
            features,
            labels,
            domains,
            self.margin,
            squared=self.squared,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"margin={self.margin}, squared={self.squared}, reduction={self.reduction!r}"
