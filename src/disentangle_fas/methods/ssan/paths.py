"""SSAN-R's style path and its assembly of content and style (``networks/SSAN_R.py``)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.methods.ssan.adain import DEFAULT_ADAIN_EPS, AdaINResBlock

__all__ = ["Assembly", "StylePath", "content_block"]


def _conv(cin: int, cout: int, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def content_block(channels: int = 256, stride: int = 2) -> nn.Sequential:
    """The content path's last stage: a strided 3x3 conv, batch norm and ReLU.

    The official ``SSAN_R.layer4`` (``Conv2d(256, 256, 3, stride=2)``, ``BatchNorm2d``,
    ``ReLU``) replaces ResNet's layer4 on top of layer3.

    Args:
        channels: input and output channels.
        stride: 2 (official), or 1 for inputs below 64 px.

    Shape:
        - Input: ``(B, C, h, w)``; output: ``(B, C, ceil(h/stride), ceil(w/stride))``.
    """
    return nn.Sequential(
        _conv(channels, channels, stride), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)
    )


class StylePath(nn.Module):
    r"""Style features from the instance-normalised maps of ResNet layers 1-3 to ``(gamma, beta)``.

    Following ``SSAN_R.cal_gamma_beta``: ``s = IN-conv(x_1) + x_2``,
    ``s = IN-conv(s) + x_3``, ``s = IN-conv(s)`` (each conv 3x3 with stride 2 and instance
    norm, ReLU except the last), then global max pooling, ``h = ReLU(W_{fc} s)`` and the two
    bias-free projections ``gamma = W_\gamma h``, ``beta = W_\beta h`` (paper eq. 3).

    Args:
        channels: ``(c1, c2, c3)`` of layers 1-3 (ResNet-18: 64, 128, 256).
        last_stride: stride of the last conv (official 2; 1 for inputs below 64 px, whose
            map would otherwise be 1x1, where instance norm is undefined).

    Shape:
        - Input: ``x1 (B, c1, h, w)``, ``x2 (B, c2, h/2, w/2)``, ``x3 (B, c3, h/4, w/4)``.
        - Output: ``gamma, beta``, each ``(B, c3)``.
    """

    def __init__(
        self, channels: tuple[int, int, int] = (64, 128, 256), *, last_stride: int = 2
    ) -> None:
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Sequential(_conv(c1, c2), nn.InstanceNorm2d(c2), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(_conv(c2, c3), nn.InstanceNorm2d(c3), nn.ReLU(inplace=True))
        self.conv3 = nn.Sequential(_conv(c3, c3, last_stride), nn.InstanceNorm2d(c3))
        self.fc = nn.Sequential(nn.Linear(c3, c3, bias=False), nn.ReLU(inplace=True))
        self.gamma = nn.Linear(c3, c3, bias=False)
        self.beta = nn.Linear(c3, c3, bias=False)

    def forward(self, x1: Tensor, x2: Tensor, x3: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``(gamma, beta)``; shapes in the class docstring."""
        s = self.conv1(x1) + x2
        s = self.conv2(s) + x3
        s = self.conv3(s)
        h = self.fc(F.adaptive_max_pool2d(s, 1).flatten(1))
        gamma: Tensor = self.gamma(h)
        beta: Tensor = self.beta(h)
        return gamma, beta


class Assembly(nn.Module):
    """Assemble a content map with a style: residual AdaIN blocks, a strided conv, pooling.

    Following ``SSAN_R.forward``: the content map passes ``num_blocks``
    :class:`~disentangle_fas.ssan.adain.AdaINResBlock` with the style's ``(gamma, beta)``,
    then ``conv_final`` (3x3 stride-2 conv to ``out_channels`` and batch norm) and global
    average pooling.

    Args:
        channels: content channels (256).
        out_channels: assembled feature width (official: 512).
        num_blocks: residual AdaIN blocks (official: 2).
        released_blocks: reproduce the released blocks (see
            :class:`~disentangle_fas.ssan.adain.AdaINResBlock`).
        eps: AdaIN epsilon.
        unbiased: AdaIN unbiased variance.

    Shape:
        - Input: content ``(B, C, h, w)``; gamma, beta ``(B, C)``.
        - Output: ``(B, out_channels)``.
    """

    def __init__(
        self,
        channels: int = 256,
        out_channels: int = 512,
        num_blocks: int = 2,
        *,
        released_blocks: bool = False,
        eps: float = DEFAULT_ADAIN_EPS,
        unbiased: bool = True,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            AdaINResBlock(channels, released=released_blocks, eps=eps, unbiased=unbiased)
            for _ in range(num_blocks)
        )
        self.conv_final = nn.Sequential(_conv(channels, out_channels), nn.BatchNorm2d(out_channels))
        self.out_features = out_channels

    def feature_map(self, content: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """Return the assembled map before pooling, ``(B, out_channels, h/2, w/2)``."""
        x = content
        for block in self.blocks:
            x = block(x, gamma, beta)
        out: Tensor = self.conv_final(x)
        return out

    def forward(self, content: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        """Return the pooled assembled feature; shapes in the class docstring."""
        return F.adaptive_avg_pool2d(self.feature_map(content, gamma, beta), 1).flatten(1)
