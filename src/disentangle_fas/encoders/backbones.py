r"""Encoders from other backbones: torchvision's mobile and EfficientNet families, any timm
model, and a 1x1 projection that gives encoders of different widths one feature size.

All follow the encoder contract (:class:`~disentangle_fas.contracts.Encoder`): ``forward(x)``
returns the last feature map ``(B, num_features, h, w)``. The torchvision ones are also
:class:`~disentangle_fas.contracts.StemmedEncoder`\\ s (their first convolution block is the
``stem``, shareable between encoders), as is a :class:`ProjectedEncoder` around one.

Batch norm of the torchvision mobile families. As torchvision builds them, a randomly
initialised MobileNet / EfficientNet scores every input the same in eval mode after a
short training: its depthwise convolutions are initialised with a fan-out that counts
every output channel (PyTorch's ``kaiming_normal_(mode="fan_out")`` ignores ``groups``,
pytorch/pytorch#23854), so their outputs have a variance near ``2 / channels`` (1e-4 to
1e-2), while batch norm's running variance starts at 1 and forgets that start only as
``(1 - momentum) ** updates`` (MobileNetV3 uses momentum 0.01: 0.99 ** 300 = 0.05). In eval
mode each such layer then shrinks the per-sample signal several times, and the shrinkage
compounds over the 15 to 50 layers to 1e-9 and below. :class:`TorchvisionEncoder` therefore
re-initialises grouped convolutions on their true fan-out (:func:`init_grouped_convs`, as
timm and the TensorFlow originals do) and gives every batch norm ResNet's momentum 0.1
(:func:`set_batchnorm_momentum`). Neither change alone is enough: MobileNetV2 and the
EfficientNets already use 0.1 and still collapsed, and MobileNetV3 with the corrected
initialisation but momentum 0.01 kept its eval-mode features at 1e-4 of their spread under
batch statistics (40 steps). timm's own initialisation already
counts groups and its batch norms use 0.1, so :class:`TimmEncoder` needs neither.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch import Tensor, nn
from torchvision import models as tvm

from disentangle_fas.contracts import StemmedEncoder
from disentangle_fas.encoders.resnet import check_images
from disentangle_fas.weights import strict_load

__all__ = [
    "BN_MOMENTUM",
    "TORCHVISION_BACKBONES",
    "ProjectedEncoder",
    "TimmEncoder",
    "TorchvisionEncoder",
    "init_grouped_convs",
    "set_batchnorm_momentum",
]

#: Batch-norm momentum of the torchvision mobile backbones built here: torchvision ResNets'
#: (and PyTorch's default), instead of MobileNetV3's 0.01 (see the module docstring).
BN_MOMENTUM = 0.1

#: torchvision backbones whose ``features`` module is used as an encoder.
TORCHVISION_BACKBONES: dict[str, Callable[..., nn.Module]] = {
    "mobilenet_v2": tvm.mobilenet_v2,
    "mobilenet_v3_small": tvm.mobilenet_v3_small,
    "mobilenet_v3_large": tvm.mobilenet_v3_large,
    "efficientnet_b0": tvm.efficientnet_b0,
    "efficientnet_b1": tvm.efficientnet_b1,
    "efficientnet_b2": tvm.efficientnet_b2,
    "efficientnet_b3": tvm.efficientnet_b3,
}


def init_grouped_convs(module: nn.Module) -> int:
    """Re-initialise every grouped (e.g. depthwise) 2-D convolution of ``module`` on its true
    fan-out: He-normal with ``std = sqrt(2 / (out_channels / groups * kh * kw))``, bias 0.

    This is torchvision's own initialisation of these backbones with the fan-out corrected:
    ``kaiming_normal_(mode="fan_out")`` counts all output channels of a grouped convolution
    (pytorch/pytorch#23854), which makes a depthwise convolution's output ``channels`` times
    too small for batch norm's initial running variance of 1 (see the module docstring).
    timm's initialisation divides by ``groups`` the same way.

    Args:
        module: any module; only ``nn.Conv2d`` with ``groups > 1`` change.

    Returns:
        How many convolutions were re-initialised.
    """
    count = 0
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.groups > 1:
            kh, kw = m.kernel_size
            fan_out = m.out_channels // m.groups * kh * kw
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
            count += 1
    return count


def set_batchnorm_momentum(module: nn.Module, momentum: float | None) -> int:
    """Set the running-statistics momentum of every batch norm in ``module``.

    Args:
        module: any module; every ``nn.modules.batchnorm._BatchNorm`` (``BatchNorm1d/2d/3d``,
            ``SyncBatchNorm``, subclasses such as timm's ``BatchNormAct2d``) changes.
        momentum: the new momentum (``None``: PyTorch's cumulative average).

    Returns:
        How many batch norms were changed.
    """
    if momentum is not None and not 0.0 < momentum <= 1.0:
        raise ValueError(f"batch-norm momentum must be in (0, 1] or None, got {momentum}")
    count = 0
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = momentum
            count += 1
    return count


def _out_channels(module: nn.Module) -> int:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the backbone has no convolution to read its width from")
    return int(convs[-1].out_channels)


class TorchvisionEncoder(nn.Module):
    """A torchvision MobileNet / EfficientNet ``features`` trunk as an encoder.

    The first block of ``features`` (a strided 3x3 convolution, batch norm and activation)
    is the ``stem``; the rest is the trunk. The output is the last block's map (stride 32).

    Two changes from torchvision keep eval-mode scores meaningful after short training
    (module docstring): grouped convolutions are initialised on their true fan-out
    (:func:`init_grouped_convs`; ImageNet weights loaded later replace them anyway) and
    every batch norm gets momentum ``bn_momentum`` (MobileNetV3 otherwise uses 0.01). Batch
    norm's ``eps`` stays torchvision's (1e-3 for MobileNetV3), which its ImageNet weights
    were trained with.

    Args:
        name: a key of :data:`TORCHVISION_BACKBONES`.
        stem: a stem module to use instead of a new one (shared with other encoders of the
            same backbone).
        bn_momentum: batch-norm momentum of the whole backbone (:data:`BN_MOMENTUM`);
            ``None`` keeps torchvision's per-family value.

    Attributes:
        num_features: channels of the output map (576 for ``mobilenet_v3_small``, 960 for
            ``mobilenet_v3_large``, 1280 for ``efficientnet_b0``).

    Shape:
        - Input: ``(B, 3, H, W)``, normalised RGB.
        - Output: ``(B, num_features, ceil(H/32), ceil(W/32))``.

    Example:
        >>> enc = TorchvisionEncoder("mobilenet_v3_small")
        >>> enc(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 576, 2, 2])
    """

    def __init__(
        self, name: str, *, stem: nn.Module | None = None, bn_momentum: float | None = BN_MOMENTUM
    ) -> None:
        super().__init__()
        if name not in TORCHVISION_BACKBONES:
            raise ValueError(
                f"unknown torchvision backbone {name!r}; expected one of "
                f"{sorted(TORCHVISION_BACKBONES)}"
            )
        net = TORCHVISION_BACKBONES[name](weights=None)
        features = net.features
        assert isinstance(features, nn.Sequential)
        init_grouped_convs(features)
        if bn_momentum is not None:
            set_batchnorm_momentum(features, bn_momentum)
        blocks = list(features)
        if stem is not None:
            _check_same_architecture(stem, blocks[0], name)
        self.stem = stem if stem is not None else blocks[0]
        self.trunk = nn.Sequential(*blocks[1:])
        self.num_features: int = _out_channels(self.trunk)
        self.backbone = name

    def forward(self, x: Tensor) -> Tensor:
        """Return the last feature map; shapes in the class docstring."""
        check_images(x)
        return self.forward_trunk(self.stem(x))

    def forward_trunk(self, h: Tensor) -> Tensor:
        """Run the blocks after the stem."""
        out: Tensor = self.trunk(h)
        return out

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load the state dict of the whole torchvision model (``classifier.*`` ignored).

        Raises:
            ValueError: keys are missing or unexpected, or shapes differ.
        """
        mapped: dict[str, Tensor] = {}
        for key, value in state_dict.items():
            if key.startswith("classifier."):
                continue
            if not key.startswith("features."):
                mapped[key] = value
                continue
            index, _, rest = key[len("features.") :].partition(".")
            i = int(index) if index.isdigit() else -1
            mapped[f"stem.{rest}" if i == 0 else f"trunk.{i - 1}.{rest}"] = value
        strict_load(self, mapped, f"a torchvision {self.backbone}")


class TimmEncoder(nn.Module):
    """Any timm model as an encoder, through ``features_only`` (its last feature map).

    Needs the optional ``timm`` package (``pip install "disentangle-fas[timm]"``). Weights
    come only from a local file (``pretrained_cfg_overlay={"file": path}``); nothing is
    downloaded.

    Args:
        name: a timm model name (``timm.list_models()``), e.g. ``"resnet18"``,
            ``"efficientnet_b0"``, ``"convnext_atto"``, ``"vit_tiny_patch16_224"``.
        weights: local weights file for the model (timm's own layout), or ``None``.
        **kwargs: passed to ``timm.create_model`` (e.g. ``img_size=64`` for a ViT).

    Attributes:
        num_features: channels of the last map. reduction: its stride.

    Shape:
        - Input: ``(B, 3, H, W)``; Output: ``(B, num_features, H/reduction, W/reduction)``.

    Raises:
        ImportError: timm is not installed.
    """

    def __init__(self, name: str, *, weights: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__()
        try:
            import timm
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"the timm backbone {name!r} needs timm: pip install 'disentangle-fas[timm]'"
            ) from exc
        if weights is not None:
            path = Path(weights)
            if not path.is_file():
                raise FileNotFoundError(f"weights file not found: {path}")
            kwargs["pretrained_cfg_overlay"] = {"file": str(path)}
        self.model = timm.create_model(
            name, pretrained=weights is not None, features_only=True, out_indices=(-1,), **kwargs
        )
        info: Any = self.model.feature_info
        self.num_features: int = int(info.channels()[-1])
        self.reduction: int = int(info.reduction()[-1])
        self.backbone = f"timm:{name}"

    @property
    def cam_layer(self) -> nn.Module:
        """The module producing the last feature map (Grad-CAM's default layer)."""
        last: nn.Module = list(self.model.children())[-1]
        return last

    def forward(self, x: Tensor) -> Tensor:
        """Return the last feature map; shapes in the class docstring."""
        check_images(x)
        out: Tensor = self.model(x)[-1]
        return out


class ProjectedEncoder(nn.Module):
    """An encoder followed by a 1x1 convolution and batch norm to ``out_features`` channels.

    Lets encoders of different widths meet heads of one width: the paper's confusion terms
    apply C_L and C_D to every encoder's features, so E_L, E_C and E_D must have the same
    feature size. A projected stemmed encoder is still stemmed (its stem can be shared).

    Args:
        encoder: any encoder.
        out_features: channels of the output map.

    Shape:
        - Input: ``(B, 3, H, W)``; Output: ``(B, out_features, h, w)``.
    """

    def __init__(self, encoder: nn.Module, out_features: int) -> None:
        super().__init__()
        in_features = getattr(encoder, "num_features", None)
        if not isinstance(in_features, int):
            raise ValueError("the encoder must have an integer `num_features`")
        if out_features < 1:
            raise ValueError(f"out_features must be >= 1, got {out_features}")
        self.encoder = encoder
        self.proj = nn.Sequential(
            nn.Conv2d(in_features, out_features, kernel_size=1, bias=False),
            nn.BatchNorm2d(out_features),
        )
        self.num_features: int = out_features
        self.backbone = getattr(encoder, "backbone", type(encoder).__name__)

    @property
    def cam_layer(self) -> nn.Module:
        """The projection (Grad-CAM's default layer)."""
        return self.proj

    @property
    def stem(self) -> nn.Module:
        """The wrapped encoder's stem (``AttributeError`` when it has none)."""
        if not isinstance(self.encoder, StemmedEncoder):
            raise AttributeError(f"{type(self.encoder).__name__} has no stem")
        return self.encoder.stem

    def forward(self, x: Tensor) -> Tensor:
        """Encode and project; shapes in the class docstring."""
        out: Tensor = self.proj(self.encoder(x))
        return out

    def forward_trunk(self, h: Tensor) -> Tensor:
        """Run the wrapped encoder's trunk on a stem output, then project."""
        if not isinstance(self.encoder, StemmedEncoder):
            raise AttributeError(f"{type(self.encoder).__name__} has no forward_trunk")
        out: Tensor = self.proj(self.encoder.forward_trunk(h))
        return out

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load backbone weights into the wrapped encoder (the projection stays fresh)."""
        load = getattr(self.encoder, "load_torchvision_state_dict", None)
        if load is None:
            raise ValueError(f"{type(self.encoder).__name__} cannot load torchvision weights")
        load(state_dict)


def _check_same_architecture(given: nn.Module, fresh: nn.Module, name: str) -> None:
    a = {k: tuple(v.shape) for k, v in given.state_dict().items()}
    b = {k: tuple(v.shape) for k, v in fresh.state_dict().items()}
    if type(given) is not type(fresh) or a != b:
        raise ValueError(f"the given stem does not match the stem of {name}")
