"""The backbone names :func:`~disentangle_fas.encoders.create_encoder` accepts, checked
without importing torch (so that a command refuses a bad ``--backbone`` at once).
"""

from __future__ import annotations

import importlib.util

__all__ = ["BACKBONE_NAMES", "TIMM_PREFIX", "check_backbone_name"]

#: Built-in backbone names: the ResNets of :data:`~disentangle_fas.encoders.ENCODER_DEPTHS`
#: and :data:`~disentangle_fas.encoders.TORCHVISION_BACKBONES`.
BACKBONE_NAMES: tuple[str, ...] = (
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "resnet10",
    "resnet18",
    "resnet34",
    "resnet50",
)
#: Prefix of a timm model name (``"timm:resnet18"``).
TIMM_PREFIX = "timm:"


def check_backbone_name(name: str) -> None:
    """Refuse a backbone name :func:`~disentangle_fas.encoders.create_encoder` cannot build
    offline.

    Args:
        name: a built-in name (:data:`BACKBONE_NAMES`) or ``"timm:<model>"``.

    Raises:
        ValueError: an unknown name; a timm name without timm installed; a timm name that
            points at a hub or a folder (``timm:hf-hub:...``), which would go online or read
            files the name chooses.

    Example:
        >>> check_backbone_name("resnet18")
        >>> check_backbone_name("resnet19")
        Traceback (most recent call last):
        ...
        ValueError: unknown backbone 'resnet19'; expected one of efficientnet_b0, ...
    """
    if name.startswith(TIMM_PREFIX):
        model = name[len(TIMM_PREFIX) :]
        if not model or ":" in model or "/" in model:
            raise ValueError(
                f"backbone {name!r}: a timm backbone is 'timm:<architecture>' (e.g. "
                "timm:resnet18); hub and path forms are refused because nothing is downloaded "
                "or read from a location a name chooses (pass local weights with "
                "--imagenet-weights)"
            )
        if importlib.util.find_spec("timm") is None:
            raise ValueError(f"backbone {name!r} needs timm: pip install 'disentangle-fas[timm]'")
        return
    if name not in BACKBONE_NAMES:
        raise ValueError(
            f"unknown backbone {name!r}; expected one of {', '.join(BACKBONE_NAMES)}, or "
            "'timm:<model>' with timm installed"
        )
