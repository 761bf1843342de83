"""Post-hoc linear concept erasure with LEACE (Belrose et al., "LEACE: Perfect linear concept
erasure in closed form", NeurIPS 2023), fitted with the ``concept-erasure`` package (the
``erase`` extra) and applied as a plain affine map that needs no package at inference.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import NamedTuple

import torch
from torch import Tensor, nn

from disentangle_fas.checks import check_features, check_index_vector
from disentangle_fas.nn import pool

__all__ = ["LeaceErasure", "LeaceFit", "fit_leace", "leace_erase", "require_concept_erasure"]

#: What to install when ``concept-erasure`` is missing.
INSTALL_HINT = (
    'LEACE erasure needs the concept-erasure package: pip install "disentangle-fas[erase]"'
)


def require_concept_erasure() -> ModuleType:
    """Import ``concept_erasure`` or raise one clear line saying which extra to install.

    Raises:
        ImportError: the package is not installed.
    """
    try:
        return importlib.import_module("concept_erasure")
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc


class LeaceFit(NamedTuple):
    """A fitted LEACE eraser as two plain tensors: ``x -> bias + (x - bias) @ projection.T``.

    Attributes:
        projection: ``(d, d)`` the oblique projection ``P`` (identity minus a rank ``<= K``
            matrix).
        bias: ``(d,)`` the features' mean on the fitting data (kept by the erasure).
    """

    projection: Tensor
    bias: Tensor


def leace_erase(features: Tensor, projection: Tensor, bias: Tensor) -> Tensor:
    r"""Apply a fitted LEACE eraser: :math:`x' = b + (x - b)\,P^\top`.

    This is the package's ``LeaceEraser.__call__`` (``x - (x - b) (I - P)^T``) written with
    the full projection, so a checkpoint stores two float tensors and no code.

    Args:
        features: ``(B, d)`` features (maps are average-pooled).
        projection: ``(d, d)`` ``P``.
        bias: ``(d,)`` ``b``.

    Returns:
        ``(B, d)`` erased features, differentiable in ``features``.

    Example:
        >>> x = torch.randn(3, 2)
        >>> torch.equal(leace_erase(x, torch.eye(2), torch.zeros(2)), x)
        True
    """
    x = pool(features)
    check_features("leace_erase", x)
    d = x.shape[1]
    if projection.shape != (d, d) or bias.shape != (d,):
        raise ValueError(
            f"leace_erase: features have {d} dims but the eraser is "
            f"{tuple(projection.shape)} / {tuple(bias.shape)}"
        )
    p, b = projection.to(x.dtype), bias.to(x.dtype)
    return b + (x - b) @ p.T


@torch.no_grad()
def fit_leace(features: Tensor, labels: Tensor, num_classes: int) -> LeaceFit:
    """Fit LEACE to erase the classes ``labels`` (one-hot) from ``features``.

    Uses ``concept_erasure.LeaceFitter`` with its defaults (affine, shrinkage of the
    covariance, the covariance trace kept from growing), in float64. After erasure no linear
    classifier of the fitting data does better than a constant one (the guarantee of
    LEACE: the class-conditional means coincide).

    Args:
        features: ``(n, d)`` features (maps are average-pooled), ``n >= 2``.
        labels: ``(n,)`` class indices in ``[0, num_classes)``.
        num_classes: ``K`` (the one-hot width).

    Returns:
        :class:`LeaceFit` in ``features``' dtype.

    Raises:
        ImportError: ``concept-erasure`` is missing (the message names the extra).
        ValueError: bad shapes or labels.
    """
    x = pool(features).detach()
    check_features("fit_leace", x)
    check_index_vector("fit_leace", "labels", labels, x.shape[0])
    if x.shape[0] < 2 or num_classes < 2 or int(labels.max()) >= num_classes:
        raise ValueError(
            f"fit_leace: needs n >= 2 samples and labels in [0, {num_classes}), "
            f"got n={x.shape[0]}, max label {int(labels.max()) if labels.numel() else None}"
        )
    package = require_concept_erasure()
    x64 = x.to(torch.float64).cpu()
    z = torch.nn.functional.one_hot(labels.long().cpu(), num_classes).to(torch.float64)
    eraser = package.LeaceFitter.fit(x64, z).eraser
    bias = eraser.bias if eraser.bias is not None else torch.zeros(x.shape[1], dtype=x64.dtype)
    return LeaceFit(
        eraser.P.to(device=x.device, dtype=x.dtype), bias.to(device=x.device, dtype=x.dtype)
    )


class LeaceErasure(nn.Module):
    """A LEACE eraser as a module: :func:`leace_erase` with its tensors as buffers (saved
    in checkpoints as ordinary float tensors, loaded without executing code).

    The buffers are float64 and the erasure is computed in float64, whatever the input's
    dtype (the output has the input's): on its fitting sample the erased features then keep
    LEACE's guarantee to float32 output precision (rounding the projection or the product
    to float32 leaves class-mean differences that a linear probe reads on held-out images,
    documented in ``docs/methods.md``). Until :meth:`load_fit` it is the identity.

    Args:
        num_features: ``d``.

    Shape:
        - Input: ``(B, d)`` or ``(B, d, h, w)`` (pooled); output ``(B, d)``.

    Example:
        >>> erase = LeaceErasure(4)
        >>> erase(torch.ones(2, 4, 3, 3)).shape
        torch.Size([2, 4])
    """

    projection: Tensor
    bias: Tensor

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.register_buffer("projection", torch.eye(num_features, dtype=torch.float64))
        self.register_buffer("bias", torch.zeros(num_features, dtype=torch.float64))

    def load_fit(self, fit: LeaceFit) -> LeaceErasure:
        """Copy a :class:`LeaceFit` into the buffers; returns ``self``."""
        with torch.no_grad():
            self.projection.copy_(fit.projection)
            self.bias.copy_(fit.bias)
        return self

    def forward(self, features: Tensor) -> Tensor:
        """Return the erased, pooled features, computed in the buffers' dtype."""
        x = features.to(self.projection.dtype)
        return leace_erase(x, self.projection, self.bias).to(features.dtype)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"num_features={self.bias.shape[0]}"
