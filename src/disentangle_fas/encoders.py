"""Encoders: ResNet trunks that return the layer4 feature map, and the paper's three
encoders E_L, E_C, E_D sharing one stem.

Every encoder follows one contract (as in timm): ``forward(x)`` returns the last feature
map ``(B, num_features, H/32, W/32)`` and ``num_features`` gives its channel count. Heads
pool the map themselves (:func:`disentangle_fas.heads.pool`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torchvision.models import resnet

__all__ = [
    "ENCODER_DEPTHS",
    "EncoderMaps",
    "ResNetEncoder",
    "SharedStemEncoders",
    "Stem",
    "create_encoder",
    "load_state_dict_file",
]

#: Supported depths and their torchvision builders.
ENCODER_DEPTHS: dict[int, tuple[type[resnet.BasicBlock | resnet.Bottleneck], list[int]]] = {
    10: (resnet.BasicBlock, [1, 1, 1, 1]),
    18: (resnet.BasicBlock, [2, 2, 2, 2]),
    34: (resnet.BasicBlock, [3, 4, 6, 3]),
    50: (resnet.Bottleneck, [3, 4, 6, 3]),
}


class Stem(nn.Module):
    """The first layer of a ResNet: 7x7/2 convolution, batch norm, ReLU, 3x3/2 max-pool.

    The paper shares "the weights of the first layer" between the three encoders: one
    ``Stem`` instance is passed to all of them (:class:`SharedStemEncoders`).

    Shape:
        - Input: ``(B, 3, H, W)``
        - Output: ``(B, 64, H/4, W/4)``
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the stem; see the class docstring for shapes."""
        out: Tensor = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return out


class ResNetEncoder(nn.Module):
    """A torchvision-style ResNet trunk without pooling and classifier.

    Args:
        depth: one of :data:`ENCODER_DEPTHS` (10, 18, 34, 50). The paper uses 18.
        stem: a :class:`Stem` to use (possibly shared with other encoders); a new one is
            created when ``None``.

    Shape:
        - Input: ``(B, 3, H, W)``, normalised RGB.
        - Output: ``(B, num_features, ceil(H/32), ceil(W/32))``.

    Example:
        >>> enc = ResNetEncoder(18)
        >>> enc(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 512, 2, 2])
    """

    def __init__(self, depth: int = 18, stem: Stem | None = None) -> None:
        super().__init__()
        if depth not in ENCODER_DEPTHS:
            raise ValueError(f"depth must be one of {sorted(ENCODER_DEPTHS)}, got {depth}")
        block, layers = ENCODER_DEPTHS[depth]
        # Build a torchvision ResNet to reuse its exact layer construction and init.
        trunk = resnet.ResNet(block, layers)
        self.depth = depth
        self.stem = stem if stem is not None else Stem()
        self.layer1 = trunk.layer1
        self.layer2 = trunk.layer2
        self.layer3 = trunk.layer3
        self.layer4 = trunk.layer4
        self.num_features: int = 512 * block.expansion

    def forward(self, x: Tensor) -> Tensor:
        """Return the layer4 feature map; see the class docstring for shapes."""
        _check_images(x)
        return self.forward_trunk(self.stem(x))

    def forward_trunk(self, x: Tensor) -> Tensor:
        """Run layers 1-4 on the stem's output (lets a shared stem run once).

        Shape:
            - Input: ``(B, 64, H/4, W/4)``
            - Output: ``(B, num_features, H/32, W/32)``
        """
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        out: Tensor = self.layer4(x)
        return out

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load a torchvision ResNet state dict (for example ``resnet18-f37072fd.pth``).

        ``fc.*`` keys are ignored; every other key must match exactly (strict check).

        Args:
            state_dict: the mapping returned by ``torchvision.models.resnet18().state_dict()``
                or loaded from the released ImageNet weights file.

        Raises:
            ValueError: keys are missing or unexpected, or a shape differs; the message
                lists them.
        """
        mapped: dict[str, Tensor] = {}
        for key, value in state_dict.items():
            if key.startswith("fc."):
                continue
            if key.startswith(("conv1.", "bn1.")):
                mapped[f"stem.{key}"] = value
            else:
                mapped[key] = value
        own = self.state_dict()
        missing = sorted(set(own) - set(mapped))
        unexpected = sorted(set(mapped) - set(own))
        wrong_shape = sorted(
            k for k in set(own) & set(mapped) if tuple(own[k].shape) != tuple(mapped[k].shape)
        )
        if missing or unexpected or wrong_shape:
            raise ValueError(
                f"state dict does not match a torchvision ResNet-{self.depth}: "
                f"missing={missing[:8]}{'...' if len(missing) > 8 else ''} "
                f"unexpected={unexpected[:8]}{'...' if len(unexpected) > 8 else ''} "
                f"wrong_shape={wrong_shape[:8]}"
            )
        self.load_state_dict(mapped, strict=True)


def _check_images(x: Tensor) -> None:
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(x.shape)}")


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Load a state dict from a local file without executing code.

    ``.safetensors`` files are read with :mod:`safetensors`; anything else with
    ``torch.load(..., weights_only=True)``, which refuses pickled code.

    Args:
        path: local file path.

    Returns:
        The state dict (tensors on CPU).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a flat mapping of tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weights file not found: {p}")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(p), device="cpu"))
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(f"{p} does not hold a state dict (a mapping of names to tensors)")
    return {str(k): v for k, v in obj.items()}


def create_encoder(
    name: str | nn.Module = "resnet18",
    *,
    weights: str | Path | None = None,
    stem: Stem | None = None,
    warn_random: bool = True,
) -> nn.Module:
    """Build an encoder by name, or pass a module through unchanged.

    Args:
        name: ``"resnet10"``, ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``, or an
            ``nn.Module`` that already follows the encoder contract (``forward`` returns a
            ``(B, C, h, w)`` map and it has an integer ``num_features``).
        weights: local path of a torchvision ResNet state dict (ImageNet weights). Nothing
            is downloaded. ``None`` means random initialisation.
        stem: a shared :class:`Stem`, for ResNet names.
        warn_random: warn when a ResNet is randomly initialised.

    Returns:
        The encoder module.

    Raises:
        ValueError: unknown name, or a module without ``num_features``.
    """
    if isinstance(name, nn.Module):
        if not isinstance(getattr(name, "num_features", None), int):
            raise ValueError("a custom encoder module must have an integer `num_features`")
        return name
    if not name.startswith("resnet") or not name[6:].isdigit():
        raise ValueError(f"unknown encoder {name!r}; expected resnet10/18/34/50 or a module")
    encoder = ResNetEncoder(int(name[6:]), stem=stem)
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


class EncoderMaps(NamedTuple):
    """Feature maps of the three encoders; a branch that is switched off is ``None``."""

    liveness: Tensor
    content: Tensor | None
    domain: Tensor | None


class SharedStemEncoders(nn.Module):
    """The paper's three encoders E_L (liveness), E_C (content), E_D (domain).

    All three are ResNet trunks of the same depth whose first layer (``conv1`` + ``bn1``)
    is one shared :class:`Stem` module. Branches can be switched off (``None``) for the
    ablations of the paper's Table 3; the liveness encoder always exists.

    Args:
        depth: ResNet depth of all three trunks.
        content: build E_C.
        domain: build E_D.
        weights: optional local path of a torchvision ResNet state dict, loaded into every
            trunk (and the shared stem).
        warn_random: warn when no weights are given.

    Attributes:
        stem: the shared first layer.
        liveness: E_L.
        content: E_C or ``None``.
        domain: E_D or ``None``.

    Shape:
        each encoder maps ``(B, 3, H, W)`` to ``(B, num_features, H/32, W/32)``.
    """

    def __init__(
        self,
        depth: int = 18,
        *,
        content: bool = True,
        domain: bool = True,
        weights: str | Path | None = None,
        warn_random: bool = True,
    ) -> None:
        super().__init__()
        self.stem = Stem()
        self.liveness = ResNetEncoder(depth, stem=self.stem)
        self.content: ResNetEncoder | None = (
            ResNetEncoder(depth, stem=self.stem) if content else None
        )
        self.domain: ResNetEncoder | None = ResNetEncoder(depth, stem=self.stem) if domain else None
        self.num_features = self.liveness.num_features
        if weights is not None:
            self.load_torchvision_state_dict(load_state_dict_file(weights))
        elif warn_random:
            warnings.warn(
                f"SharedStemEncoders: no ImageNet weights given, ResNet-{depth} trunks are "
                "randomly initialised. Pass weights=<local torchvision state dict file> to "
                "start from ImageNet as the paper does. Nothing is downloaded.",
                stacklevel=2,
            )

    def forward(self, x: Tensor) -> EncoderMaps:
        """Encode a batch with every existing branch, running the shared stem once.

        Args:
            x: ``(B, 3, H, W)`` normalised images.

        Returns:
            :class:`EncoderMaps` with ``(B, num_features, H/32, W/32)`` maps.
        """
        _check_images(x)
        h = self.stem(x)
        return EncoderMaps(
            liveness=self.liveness.forward_trunk(h),
            content=None if self.content is None else self.content.forward_trunk(h),
            domain=None if self.domain is None else self.domain.forward_trunk(h),
        )

    def encoders(self) -> dict[str, ResNetEncoder]:
        """Return the existing encoders by name (``liveness``, ``content``, ``domain``)."""
        found = {"liveness": self.liveness, "content": self.content, "domain": self.domain}
        return {k: v for k, v in found.items() if v is not None}

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load one torchvision ResNet state dict into every trunk (and the shared stem).

        Args:
            state_dict: a torchvision ResNet state dict of the same depth.

        Raises:
            ValueError: see :meth:`ResNetEncoder.load_torchvision_state_dict`.
        """
        for encoder in self.encoders().values():
            encoder.load_torchvision_state_dict(state_dict)
