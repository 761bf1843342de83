"""Augmented training views of an image batch, drawn in one batched resampling (the
two-view methods: SA-FAS, GAC-FAS).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["check_images", "random_views"]


def check_images(name: str, images: Tensor) -> None:
    """Refuse anything but a float batch ``(B, C, H, W)`` (the message starts with ``name``)."""
    if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"{name}: expected float images of shape (B, C, H, W), "
            f"got {getattr(images, 'shape', type(images).__name__)}"
        )


def random_views(
    images: Tensor,
    n_views: int = 2,
    *,
    rotation_degrees: float = 180.0,
    crop_scale_min: float = 0.2,
    hflip: bool = True,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw ``n_views`` independently augmented views of every image, at the same size.

    Each view follows SA-FAS's official training transform (``train.py``), applied in one
    batched resampling: ``RandomRotation((-r, r))`` about the centre (corners filled with
    0), then ``RandomResizedCrop(size, scale=(crop_scale_min, 1), ratio=(1, 1))`` (a square
    of U(min, 1) of the area at a uniform position) and ``RandomHorizontalFlip()``. Pixels
    are resampled bilinearly from the input (torchvision rotates with nearest-neighbour
    interpolation by default). Square images are assumed (the crop is square in
    normalised coordinates).

    Args:
        images: ``(B, C, H, W)`` images.
        n_views: views per image, ``>= 1``.
        rotation_degrees: maximum absolute rotation in degrees.
        crop_scale_min: smallest crop area fraction, in ``(0, 1]``.
        hflip: flip each view horizontally with probability 1/2.
        generator: CPU generator for the random parameters (global RNG when ``None``).

    Returns:
        ``(n_views * B, C, H, W)``: view 0 of every image, then view 1, ... (the order
        :func:`~disentangle_fas.losses.supcon_loss` expects after a reshape).

    Raises:
        ValueError: malformed images or parameters.

    Shape:
        - Input: ``(B, C, H, W)``; output ``(n_views * B, C, H, W)``.

    Example:
        >>> random_views(torch.rand(3, 3, 16, 16)).shape
        torch.Size([6, 3, 16, 16])
    """
    check_images("random_views", images)
    if n_views < 1:
        raise ValueError(f"random_views: n_views must be >= 1, got {n_views}")
    if not 0.0 < crop_scale_min <= 1.0:
        raise ValueError(f"random_views: crop_scale_min must lie in (0, 1], got {crop_scale_min}")
    if not (math.isfinite(rotation_degrees) and rotation_degrees >= 0):
        raise ValueError(f"random_views: rotation_degrees must be >= 0, got {rotation_degrees}")
    n = n_views * images.shape[0]
    u = torch.rand(n, 5, generator=generator)
    angle = (2.0 * u[:, 0] - 1.0) * math.radians(rotation_degrees)
    side = torch.sqrt(crop_scale_min + (1.0 - crop_scale_min) * u[:, 1])  # of the image side
    cx = (2.0 * u[:, 2] - 1.0) * (1.0 - side)
    cy = (2.0 * u[:, 3] - 1.0) * (1.0 - side)
    flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0) if hflip else torch.ones(n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Output u -> crop point c + side * (flip u_x, u_y) -> rotated back into the input.
    theta = torch.stack(
        [
            torch.stack([cos * side * flip, -sin * side, cos * cx - sin * cy], dim=1),
            torch.stack([sin * side * flip, cos * side, sin * cx + cos * cy], dim=1),
        ],
        dim=1,
    ).to(device=images.device, dtype=images.dtype)
    tiled = images.repeat(n_views, 1, 1, 1)
    grid = F.affine_grid(theta, list(tiled.shape), align_corners=False)
    return F.grid_sample(tiled, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
