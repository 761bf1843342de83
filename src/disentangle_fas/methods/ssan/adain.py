"""Adaptive instance normalisation and SSAN's residual AdaIN block.

AdaIN (Huang & Belongie, ICCV 2017, eq. 8) re-styles a content map with per-sample,
per-channel affine parameters predicted from a style input. SSAN (Wang et al., CVPR 2022,
eq. 4-5) assembles content and style features with two residual AdaIN blocks.
"""

from __future__ import annotations

import math
from typing import TypedDict

import torch
from torch import Tensor, nn
from typing_extensions import Unpack

__all__ = ["DEFAULT_ADAIN_EPS", "AdaIN", "AdaINOptions", "AdaINResBlock", "adain"]

#: ``adaIN(eps=1e-5)`` of the official code (``networks/pub_mod.py``).
DEFAULT_ADAIN_EPS = 1e-5


def adain(
    x: Tensor, gamma: Tensor, beta: Tensor, *, eps: float = DEFAULT_ADAIN_EPS, unbiased: bool = True
) -> Tensor:
    r"""Adaptive instance normalisation of a feature map.

    .. math::
        \mathrm{AdaIN}(x, \gamma, \beta) = \gamma\,\frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \epsilon}}
            + \beta

    with ``mu`` and ``sigma^2`` the mean and variance of each sample's channel over its
    spatial positions. The official SSAN code (``networks/pub_mod.py``, class ``adaIN``)
    uses ``torch.var``, the *unbiased* variance (divided by ``h*w - 1``): ``unbiased=True``
    reproduces it; ``unbiased=False`` gives the population variance of instance norm.

    Args:
        x: ``(B, C, h, w)`` feature map, ``h * w >= 2`` when ``unbiased``.
        gamma: ``(B, C)`` scales.
        beta: ``(B, C)`` shifts.
        eps: added to the variance, ``> 0``.
        unbiased: divide the variance by ``h*w - 1`` (official) instead of ``h*w``.

    Returns:
        ``(B, C, h, w)``.

    Raises:
        ValueError: shapes that do not match, a 1x1 map with ``unbiased``, or a bad ``eps``.

    Shape:
        - x: ``(B, C, h, w)``; gamma, beta: ``(B, C)``; output: ``(B, C, h, w)``.

    Example:
        >>> out = adain(torch.randn(2, 4, 3, 3), torch.ones(2, 4), torch.zeros(2, 4))
        >>> out.shape
        torch.Size([2, 4, 3, 3])
    """
    if not isinstance(x, Tensor) or x.ndim != 4:
        raise ValueError(f"adain: expected x of shape (B, C, h, w), got {getattr(x, 'shape', x)}")
    for name, value in (("gamma", gamma), ("beta", beta)):
        if not isinstance(value, Tensor) or tuple(value.shape) != tuple(x.shape[:2]):
            raise ValueError(
                f"adain: expected {name} of shape {tuple(x.shape[:2])}, "
                f"got {tuple(getattr(value, 'shape', ()))}"
            )
    if unbiased and x.shape[2] * x.shape[3] < 2:
        raise ValueError("adain: the unbiased variance needs at least 2 spatial positions")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"adain: eps must be finite and > 0, got {eps}")
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = torch.var(x, dim=(2, 3), keepdim=True, correction=1 if unbiased else 0)
    normalized = (x - mean) / torch.sqrt(var + eps)
    return normalized * gamma[:, :, None, None] + beta[:, :, None, None]


class AdaIN(nn.Module):
    """Module form of :func:`adain` (no parameters).

    Args:
        eps: added to the variance.
        unbiased: unbiased variance, as the official code.

    Shape:
        - Input: x ``(B, C, h, w)``, gamma and beta ``(B, C)``; output ``(B, C, h, w)``.
    """

    def __init__(self, eps: float = DEFAULT_ADAIN_EPS, *, unbiased: bool = True) -> None:
        super().__init__()
        self.eps = float(eps)
        self.unbiased = bool(unbiased)

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """Apply :func:`adain` with the module's settings."""
        return adain(x, gamma, beta, eps=self.eps, unbiased=self.unbiased)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"eps={self.eps}, unbiased={self.unbiased}"


class AdaINOptions(TypedDict, total=False):
    """The settings of :class:`AdaIN` that a block passes on to its AdaIN layers.

    Attributes:
        eps: added to the variance (default :data:`DEFAULT_ADAIN_EPS`).
        unbiased: unbiased variance (default True, as the official code).
    """

    eps: float
    unbiased: bool


class AdaINResBlock(nn.Module):
    r"""SSAN's residual AdaIN block: ``x + AdaIN(conv(ReLU(AdaIN(conv(x)))))``.

    As the paper describes it (eq. 5: the assembled feature passes "two residual AdaIN
    blocks"), each block is ``conv3x3 -> AdaIN -> ReLU -> conv3x3 -> AdaIN`` plus the
    input. The released ``ResnetAdaINBlock`` (``networks/pub_mod.py``) feeds its input
    ``x`` to every sub-layer and overwrites ``out`` each time, so it computes
    ``x + AdaIN(x)`` and its two convolutions never receive a gradient
    (github.com/wangzhuo2019/SSAN issue 17). ``released=True`` reproduces that
    behaviour; the convolutions then exist (the parameter count and checkpoint keys match
    the official model) but are unused.

    Args:
        dim: channels ``C``.
        released: reproduce the released code's block (see above).
        **adain: ``eps`` and ``unbiased`` of both :class:`AdaIN` layers
            (:class:`AdaINOptions`).

    Shape:
        - Input: x ``(B, C, h, w)``, gamma and beta ``(B, C)``; output ``(B, C, h, w)``.

    Example:
        >>> block = AdaINResBlock(8)
        >>> block(torch.randn(2, 8, 4, 4), torch.ones(2, 8), torch.zeros(2, 8)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(self, dim: int, *, released: bool = False, **adain: Unpack[AdaINOptions]) -> None:
        super().__init__()
        if dim <= 0:
            raise ValueError(f"AdaINResBlock: dim must be positive, got {dim}")
        self.released = bool(released)
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm1 = AdaIN(**adain)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = AdaIN(**adain)

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """Re-style ``x`` with ``gamma``, ``beta``; shapes in the class docstring."""
        if self.released:
            same: Tensor = self.norm2(x, gamma, beta)
            return x + same
        out: Tensor = self.relu1(self.norm1(self.conv1(x), gamma, beta))
        out = self.norm2(self.conv2(out), gamma, beta)
        return x + out

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"released={self.released}"
