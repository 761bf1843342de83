"""A MiniFASNet-sized reference network for timing (random weights), and a MAC counter.

MiniFASNet (minivision-ai/Silent-Face-Anti-Spoofing, the liveness model deepface and
uniface ship) is a pruned MobileFaceNet: 80x80 RGB input, a 3x3 stride-2 convolution,
depthwise-separable inverted-residual blocks with BatchNorm and PReLU, a global depthwise
convolution (GDC) over the last 5x5 map, a 128-d linear embedding and a 3-way classifier;
about 0.4 M parameters and 0.08 G multiply-adds (the published "FLOPs"). This module builds
a network from those facts alone (no code of that project is used): the same kinds of
layers, widths chosen so that parameters and multiply-adds land on the published sizes.
Its weights are random: it is a stand-in for the cost of such a model, not a detector.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["MiniFASLike", "count_macs", "count_params", "with_relu"]


def _cbp(
    c_in: int, c_out: int, k: int = 1, s: int = 1, groups: int = 1, act: bool = True
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if act:
        layers.append(nn.PReLU(c_out))
    return nn.Sequential(*layers)


class _Block(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise (stride s), 1x1 project."""

    def __init__(self, c_in: int, c_out: int, hidden: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _cbp(c_in, hidden),
            _cbp(hidden, hidden, 3, stride, groups=hidden),
            _cbp(hidden, c_out, act=False),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y: Tensor = self.body(x)
        return x + y if self.residual else y


class MiniFASLike(nn.Module):
    """A MobileFaceNet-style liveness classifier at MiniFASNet's size (80x80 -> 3 classes).

    Shape:
        - Input: ``(B, 3, 80, 80)``.
        - Output: ``(B,)`` the softmax probability of the live class.
    """

    def __init__(self, stem: int = 64, mid: int = 72, deep: int = 80, head: int = 256) -> None:
        super().__init__()
        stages = [  # (out channels, hidden, stride, repeats): 40 -> 20 -> 10 -> 5 px
            (mid, mid * 2, 2, 1),
            (mid, mid * 2, 1, 4),
            (deep, deep * 2, 2, 1),
            (deep, deep * 2, 1, 4),
            (deep, deep * 3, 2, 1),
            (deep, deep * 2, 1, 2),
        ]
        layers: list[nn.Module] = [_cbp(3, stem, 3, 2), _cbp(stem, stem, 3, 1, groups=stem)]
        c = stem
        for c_out, hidden, stride, repeats in stages:
            for r in range(repeats):
                layers.append(_Block(c, c_out, hidden, stride if r == 0 else 1))
                c = c_out
        layers += [_cbp(c, head), _cbp(head, head, 5, 1, groups=head, act=False)]
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(
            nn.Flatten(), nn.Linear(head, 128, bias=False), nn.BatchNorm1d(128)
        )
        self.classify = nn.Linear(128, 3)

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        if f.shape[-1] != 1:  # GDC: a 5x5 depthwise kernel without padding would leave 1x1
            f = f.mean(dim=(2, 3), keepdim=True)
        p: Tensor = torch.softmax(self.classify(self.embed(f)), dim=1)
        return p[:, 1]


def with_relu(model: nn.Module) -> nn.Module:
    """Replace every PReLU by a ReLU, in place (ONNX Runtime fuses ReLU into the convolution
    but runs PReLU as a separate operator: the reference's cost without that penalty)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.PReLU):
                setattr(module, name, nn.ReLU())
    return model


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, size: int) -> int:
    """Multiply-adds of convolutions and linear layers for one ``size x size`` image."""
    total = 0

    def conv_hook(m: nn.Module, inp: tuple[Tensor, ...], out: Tensor) -> None:
        nonlocal total
        assert isinstance(m, nn.Conv2d)
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total += out.numel() * k

    def linear_hook(m: nn.Module, inp: tuple[Tensor, ...], out: Tensor) -> None:
        nonlocal total
        assert isinstance(m, nn.Linear)
        total += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        model(torch.rand(1, 3, size, size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total
