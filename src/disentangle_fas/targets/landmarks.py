"""Gaussian landmark heatmaps as a content target (e.g. MTCNN's five points)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from disentangle_fas.targets.base import check_indices
from disentangle_fas.targets.module import _as_size

__all__ = ["LandmarkHeatmapTarget", "landmark_heatmaps"]

LandmarkSource = Tensor | np.ndarray | Callable[[int], Tensor | np.ndarray]


def landmark_heatmaps(
    landmarks: Tensor,
    image_size: tuple[int, int],
    output_size: tuple[int, int] | None = None,
    sigma: float = 1.5,
    *,
    merge: bool = False,
) -> Tensor:
    """Render one Gaussian heatmap per landmark.

    Coordinates are ``(x, y)`` in pixels of an image of size ``image_size``, pixel
    centres at integers (``x`` in ``[0, W-1]``). They are mapped to the output grid
    centre-aligned, ``u = (x + 0.5) * W' / W - 0.5``, and each channel is
    ``exp(-((col - u)^2 + (row - v)^2) / (2 sigma^2))`` with ``sigma`` in output pixels,
    so a landmark exactly on a pixel centre gives a peak of 1 there. Non-finite
    coordinates (a point the detector missed: NaN) give an all-zero channel.

    Args:
        landmarks: landmark coordinates.
        image_size: ``(H, W)`` of the image the coordinates refer to.
        output_size: ``(H', W')`` of the heatmaps; ``None`` uses ``image_size``.
        sigma: Gaussian standard deviation in output pixels, ``> 0``.
        merge: return the maximum over the ``K`` channels as a single channel.

    Returns:
        Heatmaps in ``[0, 1]``, float32, on ``landmarks.device``.

    Shape:
        - landmarks: ``(B, K, 2)``; output: ``(B, K, H', W')`` (``(B, 1, H', W')`` when
          ``merge``).

    Raises:
        ValueError: bad shape, sizes or ``sigma``.

    Example:
        >>> import torch
        >>> h = landmark_heatmaps(torch.tensor([[[3.0, 1.0]]]), (4, 8), sigma=1.0)
        >>> h.shape, float(h[0, 0, 1, 3])
        (torch.Size([1, 1, 4, 8]), 1.0)
    """
    if landmarks.ndim != 3 or landmarks.shape[-1] != 2:
        raise ValueError(f"expected landmarks of shape (B, K, 2), got {tuple(landmarks.shape)}")
    in_size = _as_size(image_size, "image_size")
    out_size = _as_size(output_size, "output_size") or in_size
    assert in_size is not None and out_size is not None
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    pts = landmarks.to(torch.float32)
    u = (pts[..., 0] + 0.5) * (out_size[1] / in_size[1]) - 0.5  # (B, K)
    v = (pts[..., 1] + 0.5) * (out_size[0] / in_size[0]) - 0.5
    valid = torch.isfinite(u) & torch.isfinite(v)
    u = torch.where(valid, u, torch.zeros_like(u))
    v = torch.where(valid, v, torch.zeros_like(v))
    cols = torch.arange(out_size[1], device=pts.device, dtype=torch.float32)
    rows = torch.arange(out_size[0], device=pts.device, dtype=torch.float32)
    gx = torch.exp(-((cols - u[..., None]) ** 2) / (2 * sigma**2))  # (B, K, W')
    gy = torch.exp(-((rows - v[..., None]) ** 2) / (2 * sigma**2))  # (B, K, H')
    heat = gy[..., :, None] * gx[..., None, :] * valid[..., None, None]
    if merge:
        if heat.shape[1] == 0:
            return heat.new_zeros(heat.shape[0], 1, *out_size)
        heat = heat.amax(dim=1, keepdim=True)
    return heat


class LandmarkHeatmapTarget:
    """Gaussian heatmaps of per-sample landmarks, as a :class:`TargetProvider`.

    Landmarks are per sample (MTCNN's five points: eyes, nose, mouth corners; or a
    dataset's annotations), so they are looked up by dataset index.

    Args:
        landmarks: all landmarks as a ``(N, K, 2)`` tensor/array of ``(x, y)`` pixel
            coordinates (NaN for missing points), or a callable ``index -> (K, 2)``.
        coordinate_size: ``(H, W)`` of the image the coordinates refer to; ``None`` means
            the images given to :meth:`__call__` (e.g. landmarks in 256x256 crop pixels).
        output_size: heatmap size ``(H', W')``; ``None`` uses the images' size.
        sigma: Gaussian standard deviation in output pixels.
        merge: one channel (maximum over landmarks) instead of ``K``.
        num_landmarks: ``K`` (required for a callable unless it can be probed at 0).
        name: identifier of the target.
        version: version of the landmark values.

    Shape:
        - images: ``(B, 3, H, W)``; indices: ``(B,)``; output ``(B, K or 1, H', W')``.
    """

    #: Called with ``(images, indices)``: a :class:`~disentangle_fas.targets.TargetProvider`.
    takes_indices = True

    def __init__(
        self,
        landmarks: LandmarkSource,
        *,
        coordinate_size: tuple[int, int] | None = None,
        output_size: int | tuple[int, int] | None = None,
        sigma: float = 1.5,
        merge: bool = False,
        num_landmarks: int | None = None,
        name: str = "landmark-heatmaps",
        version: str = "1",
    ) -> None:
        if not sigma > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.name = name
        self.version = str(version)
        self.coordinate_size = _as_size(coordinate_size, "coordinate_size")
        self.output_size = _as_size(output_size, "output_size")
        self.sigma = float(sigma)
        self.merge = merge
        self._table: Tensor | None = None
        self._fn: Callable[[int], Tensor | np.ndarray] | None = None
        if isinstance(landmarks, (Tensor, np.ndarray)):
            table = torch.as_tensor(landmarks)
            if table.ndim != 3 or table.shape[-1] != 2:
                raise ValueError(f"expected landmarks of shape (N, K, 2), got {tuple(table.shape)}")
            self._table = table.to(torch.float32)
            self.num_items: int | None = int(table.shape[0])
            self.num_landmarks = int(table.shape[1])
        elif callable(landmarks):
            self._fn = landmarks
            self.num_items = None
            self.num_landmarks = (
                num_landmarks if num_landmarks is not None else self._one(0).shape[0]
            )
        else:
            raise TypeError(
                "landmarks must be a Tensor, a numpy array or a callable index -> (K, 2), "
                f"got {type(landmarks).__name__}"
            )

    def _one(self, index: int) -> Tensor:
        assert self._fn is not None
        value = self._fn(index)
        t = torch.as_tensor(np.asarray(value) if isinstance(value, np.ndarray) else value)
        if t.ndim != 2 or t.shape[-1] != 2:
            raise ValueError(f"landmarks({index}) must have shape (K, 2), got {tuple(t.shape)}")
        return t.to("cpu", torch.float32)

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(K or 1, H', W')`` for images of size ``image_size``."""
        size = self.output_size or _as_size(image_size, "image_size")
        assert size is not None
        return (1 if self.merge else self.num_landmarks, *size)

    def lookup(self, indices: Tensor) -> Tensor:
        """Return the landmarks of ``indices``, ``(B, K, 2)`` float32 on the CPU."""
        idx = check_indices(indices, int(torch.as_tensor(indices).numel()), self.num_items)
        if self._table is not None:
            return self._table[idx]
        items = [self._one(i) for i in idx.tolist()]
        if any(t.shape[0] != self.num_landmarks for t in items):
            raise ValueError(f"every sample must have {self.num_landmarks} landmarks")
        return torch.stack(items)

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        """Render the heatmaps of the batch on ``images.device``.

        Args:
            images: the batch (its size and device are used).
            indices: its dataset indices.

        Returns:
            Heatmaps in ``[0, 1]``.

        Shape:
            - images: ``(B, 3, H, W)``; indices: ``(B,)``; output ``(B, K or 1, H', W')``.
        """
        check_indices(indices, images.shape[0], self.num_items)
        image_size = (int(images.shape[-2]), int(images.shape[-1]))
        pts = self.lookup(indices).to(images.device)
        return landmark_heatmaps(
            pts,
            self.coordinate_size or image_size,
            self.output_size or image_size,
            self.sigma,
            merge=self.merge,
        )

    def __repr__(self) -> str:
        return (
            f"LandmarkHeatmapTarget(K={self.num_landmarks}, sigma={self.sigma}, "
            f"output_size={self.output_size}, merge={self.merge})"
        )
