"""Kernel dependence between representations and with the domain labels: normalised HSIC
(kernel CKA) with Gaussian kernels and median bandwidths.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.explain.features import SYMBOLS, PooledFeatures, Representation
from disentangle_fas.explain.measure_types import DependenceRow
from disentangle_fas.losses.hsic import hsic

__all__ = ["dependence_rows", "kernel_cka", "kernel_subset"]


def kernel_cka(x: Tensor, y: Tensor) -> float:
    """Normalised HSIC, ``HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y))`` with Gaussian kernels
    and median bandwidths (:func:`~disentangle_fas.losses.hsic`): kernel CKA (Cortes et
    al., 2012; Kornblith et al., 2019), in ``[0, 1]``, 0 for independent samples.

    Args:
        x: ``(n, d)`` features.
        y: ``(n, e)`` features or one-hot labels.

    Returns:
        The CKA (0 when either side is constant).

    Example:
        >>> x = torch.randn(50, 3, dtype=torch.float64)
        >>> round(kernel_cka(x, 2 * x), 6)
        1.0
    """
    x, y = x.double(), y.double()
    xy, xx, yy = float(hsic(x, y)), float(hsic(x, x)), float(hsic(y, y))
    return 0.0 if xx <= 0 or yy <= 0 else xy / math.sqrt(xx * yy)


def kernel_subset(n: int, limit: int) -> Tensor:
    """Sorted indices of a seeded random subset of ``min(n, limit)`` of ``n`` samples."""
    gen = torch.Generator().manual_seed(0)
    return torch.randperm(n, generator=gen)[:limit].sort().values


def dependence_rows(
    val: PooledFeatures, untrained: PooledFeatures | None, pixels: PooledFeatures | None, limit: int
) -> list[DependenceRow]:
    """Kernel CKA of each representation with the one-hot domain labels (beside the
    untrained copy and the pixels) and of each pair of representations (beside the
    untrained copy), on a seeded subset of ``limit`` held-out samples.

    Args:
        val: the model's held-out features.
        untrained: the untrained copy's held-out features, or ``None``.
        pixels: the pooled pixels of the same samples, or ``None``.
        limit: the most samples used (the cost grows with ``n^2``).

    Returns:
        The :class:`~disentangle_fas.explain.measure_types.DependenceRow` list.
    """
    idx = kernel_subset(int(val.labels.numel()), limit)
    onehot = F.one_hot(val.domains - val.domains.min()).double()[idx]
    reps = [name for name, _ in val.available()]
    rows: list[DependenceRow] = []

    def rep_of(f: PooledFeatures | None, name: Representation) -> Tensor | None:
        got: Tensor | None = None if f is None else getattr(f, name)
        return None if got is None else got.double()[idx]

    if onehot.shape[1] >= 2:
        pix = rep_of(pixels, "liveness")
        for name in reps:
            x = rep_of(val, name)
            assert x is not None
            base = rep_of(untrained, name)
            rows.append(
                DependenceRow(
                    f"{SYMBOLS[name]} ~ domain",
                    kernel_cka(x, onehot),
                    float(hsic(x, onehot)),
                    None if base is None else kernel_cka(base, onehot),
                    None if pix is None else kernel_cka(pix, onehot),
                )
            )
    for i, a in enumerate(reps):
        for b in reps[i + 1 :]:
            xa, xb = rep_of(val, a), rep_of(val, b)
            assert xa is not None and xb is not None
            ua, ub = rep_of(untrained, a), rep_of(untrained, b)
            rows.append(
                DependenceRow(
                    f"{SYMBOLS[a]} ~ {SYMBOLS[b]}",
                    kernel_cka(xa, xb),
                    float(hsic(xa, xb)),
                    None if ua is None or ub is None else kernel_cka(ua, ub),
                )
            )
    return rows
