"""Any frozen ``nn.Module`` as an image-based content target."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.targets.base import check_images, freeze_module

__all__ = ["ModuleTarget", "resize_images"]


def resize_images(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a batch to ``size`` (bilinear, anti-aliased when shrinking); no-op if equal.

    Args:
        images: the batch.
        size: ``(H', W')``.

    Returns:
        The resized batch, clamped to the input's value range ``[0, 1]``.

    Shape:
        - images: ``(B, C, H, W)``; output: ``(B, C, H', W')``.
    """
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    out = F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    return out.clamp_(0.0, 1.0)


def _as_size(size: int | tuple[int, int] | None, what: str) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int):
        size = (size, size)
    if len(size) != 2 or any(int(s) != s or s <= 0 for s in size):
        raise ValueError(f"{what} must be a positive int or (H, W) of positive ints, got {size}")
    return (int(size[0]), int(size[1]))


class ModuleTarget:
    """Wrap any network as a frozen :class:`~disentangle_fas.targets.ContentTarget`.

    The module is frozen in place (eval mode, ``requires_grad=False``), kept in eval mode
    on every call, run under ``torch.no_grad`` and moved to the images' device on first
    use there. Images are checked to be in ``[0, 1]`` and optionally resized to
    ``input_size`` first.

    Args:
        module: the teacher; takes ``(B, 3, H, W)`` and returns ``(B, C, H', W')``.
        name: identifier used in cache keys.
        version: bump it when the module's weights or behaviour change.
        input_size: resize images to this ``(H, W)`` before the module; ``None`` keeps
            the images' size.
        output_shape: ``image_size -> (C, H', W')``; ``None`` infers it by running the
            module once on a zero image of that size (memoised per size).

    Example:
        >>> import torch
        >>> from torch import nn
        >>> t = ModuleTarget(nn.Conv2d(3, 1, 3, padding=1), name="edges")
        >>> t.output_shape((16, 16))
        (1, 16, 16)
        >>> t(torch.rand(2, 3, 16, 16)).requires_grad
        False
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        name: str,
        version: str = "1",
        input_size: int | tuple[int, int] | None = None,
        output_shape: Callable[[tuple[int, int]], tuple[int, int, int]] | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        if not name:
            raise ValueError("name must be a non-empty string")
        self.module = freeze_module(module)
        self.name = name
        self.version = str(version)
        self.input_size = _as_size(input_size, "input_size")
        self._output_shape_fn = output_shape
        self._shapes: dict[tuple[int, int], tuple[int, int, int]] = {}

    @property
    def device(self) -> torch.device:
        """Device of the module's first parameter or buffer (CPU if it has none)."""
        for p in self.module.parameters():
            return p.device
        for b in self.module.buffers():
            return b.device
        return torch.device("cpu")

    def to(self, device: torch.device | str) -> ModuleTarget:
        """Move the teacher to ``device``; returns ``self``."""
        self.module.to(device)
        return self

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(C, H', W')`` for images of size ``(H, W)``.

        Args:
            image_size: ``(H, W)`` of the images given to :meth:`__call__`.

        Returns:
            The target's per-sample shape.
        """
        size = _as_size(image_size, "image_size")
        assert size is not None
        if self._output_shape_fn is not None:
            return self._output_shape_fn(size)
        if size not in self._shapes:
            probe = torch.zeros(1, 3, *size, device=self.device)
            out = self._forward(probe)
            if out.ndim != 4:
                raise ValueError(
                    f"target module {self.name!r} must return (B, C, H, W), got {tuple(out.shape)}"
                )
            self._shapes[size] = (int(out.shape[1]), int(out.shape[2]), int(out.shape[3]))
        return self._shapes[size]

    def _forward(self, images: Tensor) -> Tensor:
        self.module.eval()
        if images.device != self.device:
            self.module.to(images.device)
        x = images.float()
        if self.input_size is not None:
            x = resize_images(x, self.input_size)
        with torch.no_grad():
            out = self.module(x)
        if not isinstance(out, Tensor):
            raise TypeError(
                f"target module {self.name!r} must return a Tensor, got {type(out).__name__}"
            )
        return out.float()

    def __call__(self, images: Tensor) -> Tensor:
        """Compute the targets of ``images``.

        Args:
            images: RGB batch in ``[0, 1]``.

        Returns:
            Float32 targets without gradient, on ``images.device``.

        Shape:
            - images: ``(B, 3, H, W)``; output: ``(B, C, H', W')``.

        Raises:
            TypeError, ValueError: bad images (see :func:`check_images`).
        """
        check_images(images)
        return self._forward(images)

    def __repr__(self) -> str:
        return (
            f"ModuleTarget(name={self.name!r}, version={self.version!r}, "
            f"module={type(self.module).__name__})"
        )
