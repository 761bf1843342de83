"""A kernel independence penalty: the normalised HSIC between a representation and labels
or another representation (Gretton et al., 2005; used as a penalty by Bahng et al.,
"Learning De-biased Representations with Biased Representations", ICML 2020).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.losses.hsic import hsic
from disentangle_fas.nn import pool

__all__ = ["HSICPenalty", "hsic_penalty", "one_hot_labels"]

#: Added under the square root of the normaliser, so constant inputs give 0, not NaN.
_EPS = 1e-12


def one_hot_labels(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(n,)`` class indices as ``(n, K)`` one-hot float rows (the kernel's input for
    labels).

    Example:
        >>> one_hot_labels(torch.tensor([0, 2]), 3)
        tensor([[1., 0., 0.],
                [0., 0., 1.]])
    """
    if labels.ndim != 1 or labels.is_floating_point():
        raise ValueError(f"one_hot_labels: expected (n,) integer labels, got {labels.dtype} "
                         f"{tuple(labels.shape)}")  # fmt: skip
    return F.one_hot(labels.long(), num_classes).to(dtype)


def hsic_penalty(x: Tensor, y: Tensor) -> Tensor:
    r"""The normalised HSIC between paired samples, a scale-free dependence penalty.

    .. math::
        \mathrm{nHSIC}(X, Y) = \frac{\mathrm{HSIC}(X, Y)}
            {\sqrt{\mathrm{HSIC}(X, X)\,\mathrm{HSIC}(Y, Y)}}

    with :func:`~disentangle_fas.losses.hsic` (the biased estimator, Gaussian kernels,
    median-heuristic bandwidths held constant for the gradient). It is the cosine of the two
    centred kernel matrices (kernel CKA), so it lies in ``[0, 1]`` whatever the features'
    scale: 0 for independent samples (in the population), 1 when the kernel matrices agree.
    Labels enter as one-hot rows (:func:`one_hot_labels`). Half-precision inputs are
    computed in float32, outside autocast.

    Args:
        x: ``(n, d)`` features (maps are average-pooled).
        y: ``(n, e)`` paired features or one-hot labels.

    Returns:
        Scalar tensor, differentiable in ``x`` and ``y``.

    Raises:
        ValueError: not float matrices with the same ``n >= 2`` rows.

    Shape:
        - ``x``: ``(n, d)``; ``y``: ``(n, e)``; output ``()``.

    Example:
        >>> x = torch.randn(32, 4)
        >>> round(float(hsic_penalty(x, 3 * x)), 4)
        1.0
    """
    x, y = _full_precision(pool(x)), _full_precision(pool(y))
    with torch.autocast(x.device.type, enabled=False):  # kernels in float32 under AMP
        y = y.to(x.dtype)
        xy = hsic(x, y)
        xx = hsic(x, x)
        yy = hsic(y, y)
        return xy / torch.sqrt(xx * yy + _EPS)


def _full_precision(x: Tensor) -> Tensor:
    """Half and bfloat16 inputs as float32 (their kernels and medians are too coarse)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class HSICPenalty(nn.Module):
    """Module form of :func:`hsic_penalty`.

    Shape:
        - Input: ``(n, d)`` and ``(n, e)``; output ``()``.

    Example:
        >>> HSICPenalty()(torch.randn(8, 3), torch.randn(8, 2)).shape
        torch.Size([])
    """

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Compute :func:`hsic_penalty`."""
        return hsic_penalty(x, y)
