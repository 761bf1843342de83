"""GAC-FAS's cutout on a batch of views (official ``RandomCutout(1, 0.5)`` in
``dataloaders/dataset.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from disentangle_fas.methods.common.views import check_images

__all__ = ["random_cutout"]


def random_cutout(images: Tensor, p: float, *, generator: torch.Generator | None = None) -> Tensor:
    """With probability ``p`` per image, replace one box by its mean colour.

    The box follows the official ``rand_bbox``: ``lam ~ Beta(1, 1)`` (uniform), sides
    ``int(W sqrt(1 - lam))`` by ``int(H sqrt(1 - lam))`` around a uniform centre, clipped
    to the image; the pixels inside become the box's per-channel mean.

    Args:
        images: ``(B, C, H, W)``.
        p: probability, in ``[0, 1]``, that an image gets a box.
        generator: CPU generator for the draws (global RNG when ``None``).

    Returns:
        A new ``(B, C, H, W)`` tensor (the input is not modified).

    Example:
        >>> random_cutout(torch.rand(2, 3, 8, 8), 0.5).shape
        torch.Size([2, 3, 8, 8])
    """
    check_images("random_cutout", images)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"random_cutout: p must lie in [0, 1], got {p}")
    b, _, h, w = images.shape
    u = torch.rand(b, 4, generator=generator)  # apply, lam, centre x, centre y
    out = images.clone()
    for i in range(b):
        if float(u[i, 0]) >= p:
            continue
        cut = (1.0 - float(u[i, 1])) ** 0.5
        cw, ch = int(w * cut), int(h * cut)
        cx, cy = min(int(float(u[i, 2]) * w), w - 1), min(int(float(u[i, 3]) * h), h - 1)
        x1, x2 = max(cx - cw // 2, 0), min(cx + cw // 2, w)
        y1, y2 = max(cy - ch // 2, 0), min(cy + ch // 2, h)
        if x2 > x1 and y2 > y1:
            box = out[i, :, y1:y2, x1:x2]
            out[i, :, y1:y2, x1:x2] = box.mean(dim=(-2, -1), keepdim=True)
    return out
