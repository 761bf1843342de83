"""``create_encoder``: one factory for every backbone behind the encoder contract."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from torch import nn

from disentangle_fas.contracts import num_features_of
from disentangle_fas.encoders.backbones import (
    TORCHVISION_BACKBONES,
    TimmEncoder,
    TorchvisionEncoder,
)
from disentangle_fas.encoders.names import BACKBONE_NAMES, TIMM_PREFIX, check_backbone_name
from disentangle_fas.encoders.resnet import ENCODER_DEPTHS, ResNetEncoder
from disentangle_fas.weights import load_state_dict_file

__all__ = ["available_backbones", "create_encoder"]

_TIMM_PREFIX = TIMM_PREFIX


def available_backbones() -> list[str]:
    """Names :func:`create_encoder` builds without timm (timm names need ``"timm:"``)."""
    return sorted(BACKBONE_NAMES)


def create_encoder(
    name: str | nn.Module = "resnet18",
    *,
    weights: str | Path | None = None,
    stem: nn.Module | None = None,
    warn_random: bool = True,
    **kwargs: Any,
) -> nn.Module:
    """Build an encoder by name, or check a module and pass it through.

    Args:
        name: a backbone name: ``"resnet10"``, ``"resnet18"``, ``"resnet34"``,
            ``"resnet50"``, ``"mobilenet_v2"``, ``"mobilenet_v3_small"``,
            ``"mobilenet_v3_large"``, ``"efficientnet_b0"`` ... ``"efficientnet_b3"``
            (:func:`available_backbones`), or ``"timm:<model>"`` for any timm model (needs
            the ``timm`` extra); or an ``nn.Module`` that follows the encoder contract
            (``forward`` returns a ``(B, C, h, w)`` map, integer ``num_features``).
        weights: local weights file: a torchvision state dict for the torchvision
            backbones (e.g. ``resnet18-f37072fd.pth``), timm's file for timm models.
            Nothing is downloaded. ``None``: random initialisation.
        stem: a stem module shared with other encoders of the same backbone (not for timm).
        warn_random: warn when a named backbone is randomly initialised.
        **kwargs: passed to ``timm.create_model`` for timm backbones.

    Returns:
        The encoder (``num_features`` set; ``backbone`` names how to rebuild it). The
        torchvision MobileNets / EfficientNets come with their depthwise convolutions
        initialised on the true fan-out and batch-norm momentum 0.1 (torchvision's own
        choices left every eval-mode score the same after short training; see
        :class:`~disentangle_fas.encoders.TorchvisionEncoder`); ResNets, timm models and
        modules passed in are left as they are.

    Raises:
        ValueError: unknown name (:func:`~disentangle_fas.encoders.names.check_backbone_name`:
            also a timm name without timm installed, or a hub/path timm name), a module
            without an integer ``num_features``, or options that do not apply to the
            backbone.

    Example:
        >>> create_encoder("mobilenet_v3_small", warn_random=False).num_features
        576
    """
    if isinstance(name, nn.Module):
        num_features_of(name)  # raises a clear error for a module that is not an encoder
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be a backbone name or an nn.Module, got {type(name).__name__}")
    if kwargs and not name.startswith(_TIMM_PREFIX):
        raise ValueError(f"extra options {sorted(kwargs)} apply to timm backbones only")
    check_backbone_name(name)
    encoder: nn.Module
    if name.startswith(_TIMM_PREFIX):
        if stem is not None:
            raise ValueError("timm encoders cannot share a stem; pass stem=None")
        encoder = TimmEncoder(name[len(_TIMM_PREFIX) :], weights=weights, **kwargs)
        return encoder
    if name.startswith("resnet") and name[6:].isdigit() and int(name[6:]) in ENCODER_DEPTHS:
        encoder = ResNetEncoder(int(name[6:]), stem=stem)
    elif name in TORCHVISION_BACKBONES:
        encoder = TorchvisionEncoder(name, stem=stem)
    else:  # BACKBONE_NAMES and the builders disagree
        raise AssertionError(f"no builder for the backbone {name!r}")
    if weights is not None:
        encoder.load_torchvision_state_dict(load_state_dict_file(weights))
    elif warn_random:
        warnings.warn(
            f"{name}: no ImageNet weights given, using random initialisation. The paper "
            "starts from ImageNet weights; pass a local torchvision state dict file "
            "(e.g. resnet18-f37072fd.pth) to load them. Nothing is downloaded.",
            stacklevel=2,
        )
    return encoder
