"""PRNet's resfcn256 (Feng et al., ECCV 2018) with TensorFlow 'SAME' padding semantics.

The network maps a 256x256 RGB face crop in ``[0, 1]`` to a 256x256 UV position map whose
three channels are the ``(x, y, z)`` coordinates of each face point in crop pixels.

TensorFlow's 'SAME' padding pads ``total = max((ceil(n/s) - 1) * s + k - n, 0)`` pixels,
``total // 2`` before and the rest after, so a 4x4 stride-1 convolution pads 1 before and
2 after -- asymmetrically, which PyTorch's ``padding=`` cannot express. A 'SAME'
transposed convolution is the adjoint of the 'SAME' convolution from ``n*s`` to ``n``
pixels: it computes the full transposed convolution and keeps ``n*s`` outputs starting at
``pad_before``. :class:`Conv2dSame` and :class:`ConvTranspose2dSame` implement exactly
that, so weights converted from the official TensorFlow checkpoint reproduce it.

The key layout (``stem``, ``encoder.{0..9}``, ``decoder.{0..16}``) is this library's;
:func:`~disentangle_fas.targets.load_prnet` also reads the ``pytorchcv`` port's layout.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "POSITION_SCALE",
    "PRNET_NUM_PARAMETERS",
    "PRNET_RESOLUTION",
    "Conv2dSame",
    "ConvTranspose2dSame",
    "PRNet",
    "PRNetResBlock",
    "tf_same_padding",
]

#: Input and output resolution of resfcn256.
PRNET_RESOLUTION = 256
#: The sigmoid output times this is the position map in crop pixels (PRNet's ``MaxPos``).
POSITION_SCALE = PRNET_RESOLUTION * 1.1
#: Number of trainable parameters of resfcn256.
PRNET_NUM_PARAMETERS = 13_353_618
#: BatchNorm epsilon of the TensorFlow original (``tf.contrib.layers.batch_norm``).
BN_EPS = 1e-3

# (out_channels, stride) of the ten residual blocks and the seventeen transposed convs.
_ENCODER = (
    (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
)  # fmt: skip
_DECODER = (
    (512, 1),
    (256, 2), (256, 1), (256, 1),
    (128, 2), (128, 1), (128, 1),
    (64, 2), (64, 1), (64, 1),
    (32, 2), (32, 1),
    (16, 2), (16, 1),
    (3, 1), (3, 1), (3, 1),
)  # fmt: skip


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Padding ``(before, after)`` of TensorFlow's 'SAME' convolution along one axis.

    Args:
        size: input length ``n``.
        kernel: kernel size ``k``.
        stride: stride ``s``.

    Returns:
        ``(total // 2, total - total // 2)`` with
        ``total = max((ceil(n / s) - 1) * s + k - n, 0)``.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` (no bias by default) with TensorFlow 'SAME' padding.

    The output has ``ceil(H / stride) x ceil(W / stride)`` pixels; padding is computed
    from the input size, before/after as TensorFlow does (asymmetric when the total is
    odd).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride.
        bias: add a bias (PRNet's convolutions have none).

    Shape:
        - input: ``(B, C_in, H, W)``; output: ``(B, C_out, ceil(H/s), ceil(W/s))``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *,
        bias: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve with 'SAME' padding."""
        kh, kw = self.kernel_size
        sh, sw = self.stride
        top, bottom = tf_same_padding(x.shape[-2], kh, sh)
        left, right = tf_same_padding(x.shape[-1], kw, sw)
        if top == bottom and left == right:
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left))
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride)


class ConvTranspose2dSame(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (no bias by default) with TensorFlow 'SAME' semantics.

    The output has ``H*stride x W*stride`` pixels: the adjoint of :class:`Conv2dSame`
    from that size back to ``H x W``. Of the full transposed convolution (length
    ``(n - 1) * s + k``) it keeps ``n * s`` values starting at ``pad_before``, where
    ``pad_before = max(k - s, 0) // 2`` (zero-filled at the end when ``k < s``).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride (upsampling factor).
        bias: add a bias (PRNet's convolutions have none).

    Shape:
        - input: ``(B, C_in, H, W)``; output: ``(B, C_out, H*s, W*s)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *,
        bias: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, bias=bias)

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        """Transposed convolution with 'SAME' semantics (``output_size`` is not supported)."""
        if output_size is not None:
            raise ValueError("ConvTranspose2dSame computes its output size; pass None")
        kh, kw = self.kernel_size
        sh, sw = self.stride
        before_h = max(kh - sh, 0) // 2
        before_w = max(kw - sw, 0) // 2
        y = F.conv_transpose2d(x, self.weight, self.bias, self.stride, (before_h, before_w))
        out_h, out_w = x.shape[-2] * sh, x.shape[-1] * sw
        if y.shape[-2] > out_h or y.shape[-1] > out_w:
            y = y[..., :out_h, :out_w]
        if y.shape[-2] < out_h or y.shape[-1] < out_w:  # kernel smaller than stride
            y = F.pad(y, (0, out_w - y.shape[-1], 0, out_h - y.shape[-2]))
        return y


class _ConvBN(nn.Module):
    """Conv (or transposed conv) without bias, BatchNorm with scale, then an activation."""

    def __init__(self, conv: nn.Module, channels: int, activation: nn.Module | None) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS)
        self.act = activation if activation is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.act(self.bn(self.conv(x)))
        return out


class PRNetResBlock(nn.Module):
    """resfcn256's residual block.

    ``1x1 conv -> C/2`` (BN, ReLU), ``kxk conv`` with the stride (BN, ReLU), ``1x1 conv ->
    C`` (no BN, no activation); a strided ``1x1`` shortcut conv (no BN) when the shape
    changes; add, then BN and ReLU. All convolutions are bias-free.

    Args:
        in_channels: input channels.
        out_channels: output channels ``C``.
        stride: stride of the ``kxk`` conv and the shortcut.
        kernel_size: ``k``.

    Shape:
        - input: ``(B, C_in, H, W)``; output: ``(B, C, ceil(H/s), ceil(W/s))``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int, kernel_size: int = 4
    ) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"out_channels must be even, got {out_channels}")
        mid = out_channels // 2
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = Conv2dSame(in_channels, out_channels, 1, stride)
        self.conv1 = _ConvBN(Conv2dSame(in_channels, mid, 1), mid, nn.ReLU(inplace=True))
        self.conv2 = _ConvBN(Conv2dSame(mid, mid, kernel_size, stride), mid, nn.ReLU(inplace=True))
        self.conv3 = Conv2dSame(mid, out_channels, 1)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        """Residual block forward."""
        shortcut = x if self.shortcut is None else self.shortcut(x)
        y = self.conv3(self.conv2(self.conv1(x)))
        out: Tensor = self.act(self.bn(y + shortcut))
        return out


class PRNet(nn.Module):
    """PRNet's resfcn256 position-map regression network.

    Encoder: a 4x4 conv 3->16 then ten :class:`PRNetResBlock` (kernel 4) down to
    ``8x8x512``; decoder: seventeen 4x4 'SAME' transposed convs back to ``256x256x3``, each
    with BatchNorm (eps ``1e-3``) and ReLU except the last, whose activation is a sigmoid.
    :meth:`forward` returns the sigmoid times ``256 * 1.1`` (:data:`POSITION_SCALE`), i.e.
    ``(x, y, z)`` in crop pixels; :meth:`forward_normalized` returns the sigmoid itself.
    13,353,618 parameters.

    Attributes:
        weights_source: where the weights came from (a path, ``"state_dict"``), or
            ``None`` for a freshly initialised (random) network. Content targets refuse
            a network whose ``weights_source`` is ``None``.

    Shape:
        - input: ``(B, 3, 256, 256)`` RGB in ``[0, 1]`` (any ``H, W`` divisible by 32 runs).
        - output: ``(B, 3, H, W)`` position map.

    Example:
        >>> net = PRNet()
        >>> sum(p.numel() for p in net.parameters())
        13353618
    """

    def __init__(self) -> None:
        super().__init__()
        self.weights_source: str | None = None
        self.stem = _ConvBN(Conv2dSame(3, 16, 4), 16, nn.ReLU(inplace=True))
        blocks: list[nn.Module] = []
        in_ch = 16
        for out_ch, stride in _ENCODER:
            blocks.append(PRNetResBlock(in_ch, out_ch, stride))
            in_ch = out_ch
        self.encoder = nn.Sequential(*blocks)
        layers: list[nn.Module] = []
        for i, (out_ch, stride) in enumerate(_DECODER):
            last = i == len(_DECODER) - 1
            act: nn.Module = nn.Sigmoid() if last else nn.ReLU(inplace=True)
            layers.append(_ConvBN(ConvTranspose2dSame(in_ch, out_ch, 4, stride), out_ch, act))
            in_ch = out_ch
        self.decoder = nn.Sequential(*layers)

    def forward_normalized(self, x: Tensor) -> Tensor:
        """Return the sigmoid output: the position map divided by ``256 * 1.1``.

        Args:
            x: face crops, RGB in ``[0, 1]``.

        Returns:
            Position map in ``[0, 1]``.

        Shape:
            - x: ``(B, 3, H, W)`` with ``H, W`` divisible by 32; output ``(B, 3, H, W)``.

        Raises:
            ValueError: wrong shape.
        """
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"PRNet expects (B, 3, H, W) images, got {tuple(x.shape)}")
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ValueError(
                f"PRNet needs H and W divisible by 32 (256x256 crops), got {tuple(x.shape[-2:])}"
            )
        out: Tensor = self.decoder(self.encoder(self.stem(x)))
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Return the UV position map in crop pixels (sigmoid output times ``256 * 1.1``).

        Args:
            x: face crops, RGB in ``[0, 1]``.

        Returns:
            ``(x, y, z)`` position map, values in ``[0, 281.6]``.

        Shape:
            - x: ``(B, 3, 256, 256)``; output: ``(B, 3, 256, 256)``.
        """
        return self.forward_normalized(x) * POSITION_SCALE

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Load weights (this library's key layout); a complete load sets ``weights_source``.

        Use :func:`~disentangle_fas.targets.load_prnet` to load files and other layouts.
        """
        result = super().load_state_dict(state_dict, strict=strict, assign=assign)
        missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
        if self.weights_source is None and not missing:
            self.weights_source = "state_dict"
        return result


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def state_dict_digest(module: nn.Module) -> str:
    """SHA-256 over the module's weights and running statistics (names, shapes, values).

    Identical weights give identical digests whatever file format they came from.
    """
    import hashlib

    h = hashlib.sha256()
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        t = value.detach().to("cpu")
        if t.is_floating_point():
            t = t.float()
        h.update(key.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()
