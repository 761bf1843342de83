"""Neutral building blocks shared by the methods: gradient reversal (Ganin & Lempitsky,
2015) with its warm-up schedule, and global average pooling of encoder maps.

The gradient reversal layer (GRL) is the identity in the forward pass and multiplies the
incoming gradient by ``-coeff`` in the backward pass. Placed between a feature generator
and a domain discriminator, one backward pass trains the discriminator to *recognise* the
domain while the generator learns to *hide* it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["GradientReversal", "ScheduledReversal", "grad_reverse", "grl_schedule", "pool"]


def pool(features: Tensor) -> Tensor:
    """Global-average-pool an encoder map to a vector; vectors pass through.

    Args:
        features: ``(B, d, h, w)`` or ``(B, d)``.

    Returns:
        ``(B, d)``.

    Raises:
        ValueError: any other number of dimensions.

    Example:
        >>> pool(torch.ones(2, 5, 3, 3)).shape
        torch.Size([2, 5])
    """
    if features.ndim == 4:
        return features.mean(dim=(2, 3))
    if features.ndim == 2:
        return features
    raise ValueError(
        f"expected features of shape (B, d) or (B, d, h, w), got {tuple(features.shape)}"
    )


def _check_coeff(coeff: float) -> float:
    value = float(coeff)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"gradient reversal coeff must be a finite number >= 0, got {coeff}")
    return value


class _GradReverse(torch.autograd.Function):
    """Identity forward, ``-coeff * grad`` backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, coeff: float) -> Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, None]:
        return grad_output.neg() * ctx.coeff, None


def grad_reverse(x: Tensor, coeff: float = 1.0) -> Tensor:
    r"""Return ``x`` unchanged; in the backward pass multiply its gradient by ``-coeff``.

    .. math::
        \mathrm{GRL}(x) = x, \qquad \frac{\partial L}{\partial x} =
            -\,\mathrm{coeff}\cdot\frac{\partial L}{\partial\,\mathrm{GRL}(x)}

    Args:
        x: any tensor.
        coeff: the reversal strength, ``>= 0`` (0 blocks the gradient entirely). A schedule
            such as :func:`grl_schedule` usually sets it.

    Returns:
        A tensor equal to ``x`` (a view) whose gradient is reversed and scaled.

    Raises:
        ValueError: ``coeff`` is negative, infinite or NaN.

    Shape:
        - Input and output: any shape, the same.

    Example:
        >>> x = torch.ones(3, requires_grad=True)
        >>> grad_reverse(x, 0.5).sum().backward()
        >>> x.grad
        tensor([-0.5000, -0.5000, -0.5000])
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"grad_reverse: expected a Tensor, got {type(x).__name__}")
    out: Tensor = _GradReverse.apply(x, _check_coeff(coeff))
    return out


def grl_schedule(progress: float, gamma: float = 10.0) -> float:
    r"""The GRL coefficient warm-up of Ganin & Lempitsky (2015), used by SSDG.

    .. math::
        \lambda(p) = \frac{2}{1 + e^{-\gamma p}} - 1 = \tanh(\gamma p / 2)

    It rises from 0 at the start of training to almost 1 (``tanh(5) = 0.99991`` with
    ``gamma = 10``), so the adversarial signal does not disturb the generator while the
    discriminator is still random. The official SSDG code (``models/DGFAS.py``, class
    ``GRL``) uses ``gamma = 10`` and ``p = iteration / max_iter`` with ``max_iter = 4000``.

    Args:
        progress: training progress ``p`` in ``[0, 1]`` (for example ``step / total_steps``).
        gamma: steepness, ``> 0``.

    Returns:
        The coefficient, in ``[0, 1)``.

    Raises:
        ValueError: ``progress`` outside ``[0, 1]`` or ``gamma <= 0`` (or either is NaN).

    Example:
        >>> grl_schedule(0.0)
        0.0
        >>> round(grl_schedule(1.0), 5)
        0.99991
    """
    p, g = float(progress), float(gamma)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"grl_schedule: progress must lie in [0, 1], got {progress}")
    if not (g > 0 and math.isfinite(g)):
        raise ValueError(f"grl_schedule: gamma must be a finite number > 0, got {gamma}")
    return 2.0 / (1.0 + math.exp(-g * p)) - 1.0


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse` with a settable ``coeff``.

    Args:
        coeff: initial reversal strength (``>= 0``). Assign ``module.coeff = ...`` to
            follow a schedule, or pass ``coeff=`` to :meth:`forward` to override it for
            one call.

    Attributes:
        coeff: the current reversal strength.

    Shape:
        - Input and output: any shape, the same.

    Example:
        >>> grl = GradientReversal(1.0)
        >>> grl.coeff = grl_schedule(0.5)
        >>> grl(torch.zeros(2, 4)).shape
        torch.Size([2, 4])
    """

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        self._coeff = _check_coeff(coeff)

    @property
    def coeff(self) -> float:
        """The current reversal strength."""
        return self._coeff

    @coeff.setter
    def coeff(self, value: float) -> None:
        self._coeff = _check_coeff(value)

    def forward(self, x: Tensor, coeff: float | None = None) -> Tensor:
        """Apply :func:`grad_reverse` with ``coeff`` (or the module's own when ``None``)."""
        return grad_reverse(x, self._coeff if coeff is None else coeff)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"coeff={self._coeff}"


class ScheduledReversal:
    """Mixin of an objective whose adversary learns through a GRL on the
    :func:`grl_schedule` warm-up: the class sets ``grl_gamma`` (the schedule's steepness).
    """

    grl_gamma: float

    def grl_coeff(self, progress: float) -> float:
        """The reversal coefficient at training progress ``progress`` in ``[0, 1]``."""
        return grl_schedule(progress, self.grl_gamma)
