"""SA-FAS's augmented training views (:func:`~disentangle_fas.methods.common.views.random_views`,
shared with GAC-FAS) and its deterministic test crop, on image batches.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.methods.common.views import check_images, random_views

__all__ = ["CenterCrop", "center_crop_resize", "random_views"]


def center_crop_resize(images: Tensor, area: float) -> Tensor:
    """Crop the centred square of ``area`` of the image area and resize it back.

    A deterministic form of the official test transform
    ``RandomResizedCrop(size, scale=(area, area), ratio=(1, 1))``: the same crop size, at
    the centre instead of a random position. The crop side is ``round(sqrt(area) * H)``
    pixels; resizing is bilinear. Built from slicing and ``interpolate``, so it exports to
    ONNX.

    Args:
        images: ``(B, C, H, W)``.
        area: fraction of the area to keep, in ``(0, 1]``; 1 returns the input.

    Returns:
        ``(B, C, H, W)``.

    Shape:
        - Input and output: ``(B, C, H, W)``.

    Example:
        >>> center_crop_resize(torch.rand(1, 3, 32, 32), 0.9).shape
        torch.Size([1, 3, 32, 32])
    """
    check_images("center_crop_resize", images)
    if not 0.0 < area <= 1.0:
        raise ValueError(f"center_crop_resize: area must lie in (0, 1], got {area}")
    h, w = int(images.shape[-2]), int(images.shape[-1])
    ch, cw = max(1, round(math.sqrt(area) * h)), max(1, round(math.sqrt(area) * w))
    if (ch, cw) == (h, w):
        return images
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = images[:, :, top : top + ch, left : left + cw]
    return F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)


class CenterCrop(nn.Module):
    """Module form of :func:`center_crop_resize`.

    Args:
        area: fraction of the area to keep.

    Shape:
        - Input and output: ``(B, C, H, W)``.
    """

    def __init__(self, area: float) -> None:
        super().__init__()
        if not 0.0 < area <= 1.0:
            raise ValueError(f"CenterCrop: area must lie in (0, 1], got {area}")
        self.area = float(area)

    def forward(self, images: Tensor) -> Tensor:
        """Apply :func:`center_crop_resize`."""
        return center_crop_resize(images, self.area)

    def extra_repr(self) -> str:
        """Describe the module in ``print(module)``."""
        return f"area={self.area}"
