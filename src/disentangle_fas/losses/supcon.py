"""Supervised contrastive loss (Khosla et al., NeurIPS 2020), as SA-FAS uses it."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["DEFAULT_BASE_TEMPERATURE", "DEFAULT_TEMPERATURE", "SupConLoss", "supcon_loss"]

#: Temperature tau of SA-FAS (``train.py``: ``--temperature 0.1``).
DEFAULT_TEMPERATURE = 0.1
#: Base temperature tau_b of SupContrast and SA-FAS (``loss/__init__.py``: ``0.07``).
DEFAULT_BASE_TEMPERATURE = 0.07


def _check(
    features: Tensor, labels: Tensor | None, temperature: float, base_temperature: float
) -> None:
    if not isinstance(features, Tensor):
        raise TypeError(
            f"supcon_loss: expected a Tensor of features, got {type(features).__name__}"
        )
    if features.ndim != 3:
        raise ValueError(
            f"supcon_loss: expected features of shape (B, n_views, D), got {tuple(features.shape)}"
        )
    if not torch.is_floating_point(features):
        raise TypeError(f"supcon_loss: expected floating point features, got {features.dtype}")
    if features.shape[0] == 0:
        raise ValueError("supcon_loss: empty batch")
    if labels is not None:
        _check_labels(labels, features.shape[0])
    for name, value in (("temperature", temperature), ("base_temperature", base_temperature)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"supcon_loss: {name} must be finite and > 0, got {value}")


def _check_labels(labels: Tensor, batch: int) -> None:
    if not isinstance(labels, Tensor):
        raise TypeError(f"supcon_loss: expected a Tensor of labels, got {type(labels).__name__}")
    if labels.ndim != 1 or labels.shape[0] != batch:
        raise ValueError(
            f"supcon_loss: expected labels of shape ({batch},), got {tuple(labels.shape)}"
        )
    if torch.is_floating_point(labels) or labels.dtype == torch.bool or labels.is_complex():
        raise TypeError(f"supcon_loss: labels must be an integer tensor, got {labels.dtype}")


def supcon_loss(
    features: Tensor,
    labels: Tensor | None = None,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    base_temperature: float = DEFAULT_BASE_TEMPERATURE,
) -> Tensor:
    r"""Supervised contrastive loss over ``n_views`` views of each sample.

    SupContrast's definition (Khosla et al. 2020, eq. 2, ``L^{sup}_{out}``; the code
    ``HobbitLong/SupContrast/losses.py``, copied by SA-FAS into ``loss/__init__.py``):
    the ``N = B * n_views`` views are the anchors; for an anchor ``i`` with positives
    ``P(i)`` (the other views of the same label) and all other views ``A(i)``,

    .. math::
        \ell_i = -\frac{\tau}{\tau_b}\,\frac{1}{|P(i)|}\sum_{p \in P(i)}
            \log\frac{\exp(z_i \cdot z_p / \tau)}{\sum_{a \in A(i)} \exp(z_i \cdot z_a / \tau)}

    with ``z`` the L2-normalised features, and the loss is the mean of ``ell_i`` over the
    anchors. SA-FAS calls it with ``labels = 10 * domain + liveness`` (one class per
    (domain, liveness) pair). Without ``labels`` every sample is its own class, so an
    anchor's positives are its other views: SimCLR's NT-Xent loss (Chen et al. 2020), the
    self-supervised case of SupContrast. An anchor without any positive (a one-view batch
    with a singleton label) has an undefined term: it is left out of the mean (SupContrast
    would return NaN); the loss is 0 when no anchor has a positive.

    Args:
        features: ``(B, n_views, D)`` features; L2-normalised here along ``D``.
        labels: ``(B,)`` integer class of each sample (shared by its views); ``None``:
            one class per sample.
        temperature: tau (SA-FAS: 0.1).
        base_temperature: tau_b; the loss is scaled by ``tau / tau_b`` (SupContrast and
            SA-FAS: 0.07).

    Returns:
        Scalar tensor.

    Raises:
        TypeError: non-tensor inputs, integer features or non-integer labels.
        ValueError: wrong shapes or temperatures.

    Shape:
        - features: ``(B, n_views, D)``; labels: ``(B,)`` or ``None``; output ``()``.

    Example:
        >>> f = torch.randn(4, 2, 8)
        >>> supcon_loss(f, torch.tensor([0, 0, 1, 1])).shape
        torch.Size([])
    """
    _check(features, labels, temperature, base_temperature)
    b, views, _ = features.shape
    if labels is None:
        labels = torch.arange(b, device=features.device)
    z = F.normalize(features, dim=-1)
    # View-major order, as SupContrast: rows 0..B-1 are view 0, B..2B-1 view 1, ...
    z = torch.cat(torch.unbind(z, dim=1), dim=0)
    tiled = labels.repeat(views)
    logits = z @ z.T / temperature
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    n = b * views
    not_self = ~torch.eye(n, dtype=torch.bool, device=z.device)
    positive = (tiled[:, None] == tiled[None, :]) & not_self
    neg_inf = torch.finfo(logits.dtype).min
    log_denominator = torch.logsumexp(logits.masked_fill(~not_self, neg_inf), dim=1, keepdim=True)
    log_prob = logits - log_denominator
    counts = positive.sum(dim=1)
    has_positive = counts > 0
    if not bool(has_positive.any()):
        return features.sum() * 0.0
    mean_log_prob_pos = (log_prob * positive).sum(dim=1)[has_positive] / counts[has_positive]
    return -(temperature / base_temperature) * mean_log_prob_pos.mean()


class SupConLoss(nn.Module):
    """Module form of :func:`supcon_loss`.

    Args:
        temperature: tau.
        base_temperature: tau_b.

    Shape:
        - Input: features ``(B, n_views, D)``, labels ``(B,)`` or ``None``; output ``()``.

    Example:
        >>> loss = SupConLoss(temperature=0.1)
        >>> loss(torch.randn(4, 2, 8), torch.tensor([0, 1, 0, 1])).ndim
        0
    """

    def __init__(
        self,
        temperature: float = DEFAULT_TEMPERATURE,
        base_temperature: float = DEFAULT_BASE_TEMPERATURE,
    ) -> None:
        super().__init__()
        self.temperature = float(temperature)
        self.base_temperature = float(base_temperature)

    def forward(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        """Compute :func:`supcon_loss` with the module's temperatures."""
        return supcon_loss(
            features,
            labels,
            temperature=self.temperature,
            base_temperature=self.base_temperature,
        )

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"temperature={self.temperature}, base_temperature={self.base_temperature}"
