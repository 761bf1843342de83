"""The Hilbert-Schmidt independence criterion: a kernel measure of the dependence between
two sets of paired observations (Gretton et al., "Measuring Statistical Dependence with
Hilbert-Schmidt Norms", ALT 2005), usable as a measure and as a differentiable penalty.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["HSIC", "gaussian_gram", "hsic", "median_bandwidth"]


def _as_matrix(name: str, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"hsic: {name} must be a float tensor, got {type(x).__name__}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"hsic: {name} must be (n,) or (n, d), got shape {tuple(x.shape)}")
    return x


def _squared_distances(x: Tensor) -> Tensor:
    """``(n, n)`` squared Euclidean distances from the Gram matrix (``O(n^2)`` memory, not
    the ``O(n^2 d)`` of broadcasting), zero on the diagonal, differentiable.
    """
    sq = (x * x).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)).clamp_min(0.0)
    return d2 * (1.0 - torch.eye(x.shape[0], dtype=x.dtype, device=x.device))


def _median_of(d2: Tensor) -> Tensor:
    with torch.no_grad():
        n = d2.shape[0]
        off = d2[~torch.eye(n, dtype=torch.bool, device=d2.device)].sqrt()
        positive = off[off > 0]
        sigma = (
            torch.quantile(positive, 0.5) if positive.numel() else torch.ones((), dtype=d2.dtype)
        )
    return sigma.to(d2.dtype)


def median_bandwidth(x: Tensor) -> Tensor:
    """The median heuristic: the median of the positive Euclidean distances between rows
    (the mean of the two middle ones for an even count, as numpy's; 1 when all rows
    coincide), without gradient.

    Args:
        x: ``(n, d)``.

    Returns:
        A scalar ``sigma > 0``.

    Example:
        >>> float(median_bandwidth(torch.tensor([[0.0], [1.0], [3.0]])))
        2.0
    """
    return _median_of(_squared_distances(x.detach()))


def gaussian_gram(x: Tensor, sigma: Tensor | float | None = None) -> Tensor:
    """The Gaussian kernel matrix ``K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))``.

    Args:
        x: ``(n, d)``.
        sigma: the bandwidth; ``None``: :func:`median_bandwidth`.

    Returns:
        ``(n, n)``.
    """
    d2 = _squared_distances(x)
    s = _median_of(d2) if sigma is None else torch.as_tensor(sigma, dtype=x.dtype)
    return torch.exp(-d2 / (2.0 * s * s))


def hsic(
    x: Tensor,
    y: Tensor,
    *,
    sigma_x: float | None = None,
    sigma_y: float | None = None,
) -> Tensor:
    r"""The biased HSIC estimate between paired samples ``x`` and ``y``.

    .. math::
        \mathrm{HSIC}(X, Y) = \frac{1}{(n-1)^2}\,\mathrm{tr}(K H L H),
        \qquad H = I - \tfrac{1}{n}\mathbf{1}\mathbf{1}^\top

    with Gaussian kernels ``K`` on ``x`` and ``L`` on ``y`` (:func:`gaussian_gram`),
    bandwidths by the median heuristic unless given (held constant for the gradient). It is
    0 when the two are independent (in the population), larger the more they depend, and
    non-negative. Domain labels enter as one-hot rows.

    Args:
        x: ``(n, d)`` (or ``(n,)``) features.
        y: ``(n, e)`` (or ``(n,)``) paired features or one-hot labels.
        sigma_x: the bandwidth of ``x``'s kernel (``None``: the median heuristic).
        sigma_y: the bandwidth of ``y``'s kernel.

    Returns:
        A scalar; differentiable in ``x`` and ``y``.

    Raises:
        ValueError: not float matrices of the same number ``n >= 2`` of rows.

    Shape:
        - ``x``: ``(n, d)``; ``y``: ``(n, e)``; output ``()``.

    Example:
        >>> x = torch.randn(64, 4)
        >>> bool(hsic(x, x) > hsic(x, torch.randn(64, 4)))
        True
    """
    x, y = _as_matrix("x", x), _as_matrix("y", y)
    n = x.shape[0]
    if y.shape[0] != n or n < 2:
        raise ValueError(
            f"hsic: x and y need the same number n >= 2 of rows, got {n} and {y.shape[0]}"
        )
    k = gaussian_gram(x, sigma_x)
    l_ = gaussian_gram(y.to(x.dtype), sigma_y)
    kc = k - k.mean(0, keepdim=True)  # K H
    lc = l_ - l_.mean(0, keepdim=True)  # L H
    return (kc * lc.T).sum() / (n - 1) ** 2


class HSIC(nn.Module):
    """Module form of :func:`hsic` (fixed bandwidths, if given).

    Example:
        >>> HSIC()(torch.randn(8, 3), torch.randn(8, 2)).shape
        torch.Size([])
    """

    def __init__(self, *, sigma_x: float | None = None, sigma_y: float | None = None) -> None:
        super().__init__()
        self.sigma_x, self.sigma_y = sigma_x, sigma_y

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Return :func:`hsic` of ``x`` and ``y``."""
        return hsic(x, y, sigma_x=self.sigma_x, sigma_y=self.sigma_y)
