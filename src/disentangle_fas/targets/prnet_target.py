"""PRNet as a frozen content target: a depth map or the UV position map of each face."""

from __future__ import annotations

import os
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from disentangle_fas.targets.base import check_images, freeze_module
from disentangle_fas.targets.module import _as_size, resize_images
from disentangle_fas.targets.prnet import PRNET_RESOLUTION, PRNet, state_dict_digest
from disentangle_fas.targets.prnet_io import load_prnet

__all__ = ["NO_WEIGHTS_MESSAGE", "PRNetTarget"]

#: Bumped when the preprocessing or post-processing of :class:`PRNetTarget` changes.
_IMPL_VERSION = "1"

NO_WEIGHTS_MESSAGE = (
    "PRNetTarget needs pretrained PRNet weights and none were given. A randomly "
    "initialised PRNet is not a content target, and this library never downloads weights. "
    "Get them yourself and pass a local file: the official PRNet release "
    "(github.com/YadiraF/PRNet) is a TensorFlow checkpoint that you must convert to a "
    "PyTorch state dict; the pytorchcv port (model 'prnet') publishes PyTorch weights "
    "whose key layout load_prnet reads as is. Then use PRNetTarget('/path/to/prnet.pt') "
    "(or .safetensors). See docs/content_targets.md. For tests and benchmarks only, "
    "PRNetTarget.from_module(PRNet(), allow_random=True) runs random weights."
)

Mode = Literal["depth", "position"]


class PRNetTarget:
    """Frozen PRNet teacher ``Φ`` producing a depth map or a position map per face.

    Images (any size, RGB in ``[0, 1]``) are resized to 256x256 (bilinear, anti-aliased)
    and passed to PRNet, whose sigmoid output is the UV position map divided by
    ``256 * 1.1`` (crop pixels / :data:`~disentangle_fas.targets.prnet.POSITION_SCALE`).

    * ``mode="position"``: the three channels ``(x, y, z) / (256 * 1.1)``, in ``[0, 1]``.
    * ``mode="depth"``: the ``z`` channel, min-max normalised per image to ``[0, 1]``
      (over the whole UV map, after resampling to ``output_size``). It lives in PRNet's
      UV space, not rendered into image space.

    The map is then resampled to ``output_size`` (area averaging when shrinking, e.g. to
    the content decoder's resolution).

    Args:
        prnet_or_path: a local weights file for :func:`~disentangle_fas.targets.load_prnet`,
            or a :class:`~disentangle_fas.targets.PRNet` whose weights were loaded (its
            ``weights_source`` is set). ``None`` or a fresh random network is refused.
        mode: ``"depth"`` (1 channel) or ``"position"`` (3 channels).
        output_size: ``(H', W')`` or an int; ``None`` keeps 256x256.

    Raises:
        RuntimeError: no weights (the message says where weights come from).
        FileNotFoundError, ValueError: see :func:`~disentangle_fas.targets.load_prnet`;
            bad ``mode`` or ``output_size``.

    Shape:
        - images: ``(B, 3, H, W)``; output: ``(B, C, H', W')`` with ``C`` 1 or 3.
    """

    def __init__(
        self,
        prnet_or_path: PRNet | str | os.PathLike[str] | None = None,
        mode: Mode = "depth",
        output_size: int | tuple[int, int] | None = None,
        *,
        _allow_random: bool = False,
    ) -> None:
        if mode not in ("depth", "position"):
            raise ValueError(f"mode must be 'depth' or 'position', got {mode!r}")
        if prnet_or_path is None:
            raise RuntimeError(NO_WEIGHTS_MESSAGE)
        if isinstance(prnet_or_path, PRNet):
            net = prnet_or_path
        elif isinstance(prnet_or_path, (str, os.PathLike)):
            net = load_prnet(prnet_or_path)
        else:
            raise TypeError(
                "prnet_or_path must be a PRNet or a path to a weights file, "
                f"got {type(prnet_or_path).__name__}"
            )
        if net.weights_source is None and not _allow_random:
            raise RuntimeError(NO_WEIGHTS_MESSAGE)
        self.prnet: PRNet = freeze_module(net)
        self.mode: Mode = mode
        self.output_size = _as_size(output_size, "output_size") or (
            PRNET_RESOLUTION,
            PRNET_RESOLUTION,
        )
        self.random_weights = net.weights_source is None
        self.name = f"prnet-{mode}"
        digest = state_dict_digest(net)[:16]
        self.version = f"{_IMPL_VERSION}-{digest}"

    @classmethod
    def from_module(
        cls,
        prnet: PRNet,
        *,
        mode: Mode = "depth",
        output_size: int | tuple[int, int] | None = None,
        allow_random: bool = False,
    ) -> PRNetTarget:
        """Wrap an existing network; ``allow_random=True`` accepts untrained weights.

        Args:
            prnet: the network.
            mode: ``"depth"`` or ``"position"``.
            output_size: output resolution; ``None`` keeps 256x256.
            allow_random: accept a network with no loaded weights. For tests and
                benchmarks only: a random teacher is not a content target.

        Returns:
            The target.
        """
        return cls(prnet, mode=mode, output_size=output_size, _allow_random=allow_random)

    @property
    def device(self) -> torch.device:
        """Device of the teacher."""
        return next(self.prnet.parameters()).device

    def to(self, device: torch.device | str) -> PRNetTarget:
        """Move the teacher to ``device``; returns ``self``."""
        self.prnet.to(device)
        return self

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(C, H', W')``; independent of the input size (inputs are resized)."""
        channels = 1 if self.mode == "depth" else 3
        return (channels, *self.output_size)

    def __call__(self, images: Tensor) -> Tensor:
        """Compute the targets of a batch.

        Args:
            images: RGB batch in ``[0, 1]``, any size.

        Returns:
            Float32 targets in ``[0, 1]``, no gradient, on ``images.device``.

        Shape:
            - images: ``(B, 3, H, W)``; output: ``(B, C, H', W')``.

        Raises:
            TypeError, ValueError: bad images.
        """
        check_images(images)
        self.prnet.eval()
        if images.device != self.device:
            self.prnet.to(images.device)
        with torch.no_grad():
            x = resize_images(images.float(), (PRNET_RESOLUTION, PRNET_RESOLUTION))
            pos = self.prnet.forward_normalized(x)
            out = pos[:, 2:3] if self.mode == "depth" else pos
            if tuple(out.shape[-2:]) != self.output_size:
                shrink = all(o <= s for o, s in zip(self.output_size, out.shape[-2:], strict=True))
                if shrink:
                    out = F.interpolate(out, size=self.output_size, mode="area")
                else:
                    out = F.interpolate(
                        out, size=self.output_size, mode="bilinear", align_corners=False
                    )
            if self.mode == "depth":
                lo = out.amin(dim=(-2, -1), keepdim=True)
                hi = out.amax(dim=(-2, -1), keepdim=True)
                out = (out - lo) / (hi - lo).clamp_min(1e-6)
            return out.clamp(0.0, 1.0).contiguous()

    def __repr__(self) -> str:
        return (
            f"PRNetTarget(mode={self.mode!r}, output_size={self.output_size}, "
            f"version={self.version!r}, weights={self.prnet.weights_source!r})"
        )
