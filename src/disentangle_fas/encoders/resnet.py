"""ResNet trunks (torchvision's layer construction and initialisation) that return the
layer4 feature map, with a separable first layer (:class:`Stem`) that several trunks can
share.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn
from torchvision.models import resnet

from disentangle_fas.weights import strict_load

__all__ = ["ENCODER_DEPTHS", "ResNetEncoder", "Stem", "check_images"]

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

    def __init__(self, depth: int = 18, stem: nn.Module | None = None) -> None:
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
        #: The name :func:`~disentangle_fas.encoders.create_encoder` builds this from.
        self.backbone = f"resnet{depth}"

    def forward(self, x: Tensor) -> Tensor:
        """Return the layer4 feature map; see the class docstring for shapes."""
        check_images(x)
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
        strict_load(self, mapped, f"a torchvision ResNet-{self.depth}")


def check_images(x: Tensor) -> None:
    """Raise ``ValueError`` unless ``x`` is an image batch ``(B, 3, H, W)``."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(x.shape)}")
