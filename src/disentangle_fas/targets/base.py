"""Protocols shared by all content targets, and the adapter between them.

Two contracts:

* :class:`ContentTarget` -- a function of the images only, ``Φ(x)``: a frozen teacher
  network such as PRNet. It maps ``(B, 3, H, W)`` images in ``[0, 1]`` to
  ``(B, C, H', W')`` targets.
* :class:`TargetProvider` -- what a training loop asks for "the targets of this batch":
  ``provider(images, indices)``, where ``indices`` are the samples' dataset indices
  (``FASSample.index``). Index-based targets (ground-truth geometry, per-sample
  landmarks) and the on-disk :class:`~disentangle_fas.targets.TargetCache` are providers;
  an image-based target becomes one through :class:`ImageTargetProvider` or
  :func:`as_provider`. Providers say so with a class attribute ``takes_indices = True``
  (both protocols have the same members, so their structure cannot tell them apart).

Targets are frozen: their networks stay in eval mode, run under ``torch.no_grad``, have
``requires_grad=False`` parameters and are never updated by any loss.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, cast, runtime_checkable

import torch
from torch import Tensor, nn

__all__ = [
    "ContentTarget",
    "ImageTargetProvider",
    "TargetProvider",
    "as_provider",
    "check_images",
    "check_indices",
    "freeze_module",
]

ModuleT = TypeVar("ModuleT", bound=nn.Module)


@runtime_checkable
class ContentTarget(Protocol):
    """An image-based content target ``Φ``: a frozen function of the images.

    Attributes:
        name: short identifier, part of the cache key (e.g. ``"prnet-depth"``).
        version: changes whenever the values ``Φ`` produces change (new weights, new
            preprocessing); part of the cache key, so a change invalidates caches.

    Shape:
        - images: ``(B, 3, H, W)``, float, RGB in ``[0, 1]``.
        - output: ``(B, C, H', W')`` with ``(C, H', W') == output_shape((H, W))``.
    """

    name: str
    version: str

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(C, H', W')`` of the target for input images of size ``(H, W)``."""
        ...

    def __call__(self, images: Tensor) -> Tensor:
        """Compute the targets of a batch of images (no gradient)."""
        ...


@runtime_checkable
class TargetProvider(Protocol):
    """Supplies the content targets of a training batch from its images and indices.

    Attributes:
        name: short identifier of the underlying target.
        version: version of the underlying target.
        takes_indices: ``True``, as a class attribute: how :func:`as_provider` knows a
            provider from an image-based target (not part of the structural check, so
            providers that never go through :func:`as_provider` may omit it).

    Shape:
        - images: ``(B, 3, H, W)``, float in ``[0, 1]``.
        - indices: ``(B,)`` integer dataset indices (``FASSample.index``).
        - output: ``(B, C, H', W')`` float32 on ``images.device``, no gradient.
    """

    name: str
    version: str

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return ``(C, H', W')`` of the targets for images of size ``(H, W)``."""
        ...

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        """Return the targets of the batch."""
        ...


def check_images(images: Tensor, *, check_range: bool = True) -> None:
    """Validate a batch of images for a content target.

    Args:
        images: the batch.
        check_range: also require values in ``[0, 1]`` (a small tolerance is allowed).

    Shape:
        - images: ``(B, 3, H, W)``.

    Raises:
        TypeError: ``images`` is not a floating-point tensor.
        ValueError: wrong shape, or values outside ``[0, 1]`` (e.g. mean/std normalised
            images, which teachers such as PRNet do not expect).
    """
    if not isinstance(images, Tensor) or not images.is_floating_point():
        raise TypeError(
            f"expected a floating-point image tensor, got {type(images).__name__}"
            + (f" of dtype {images.dtype}" if isinstance(images, Tensor) else "")
        )
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError("expected a non-empty batch of images, got batch size 0")
    if check_range:
        lo, hi = torch.aminmax(images.detach())
        lo_v, hi_v = float(lo), float(hi)
        if lo_v < -1e-4 or hi_v > 1.0 + 1e-4:
            raise ValueError(
                f"expected RGB images in [0, 1], got values in [{lo_v:.4g}, {hi_v:.4g}]; "
                "pass un-normalised images (content targets normalise inputs themselves)"
            )


def check_indices(indices: Tensor, batch_size: int, num_items: int | None = None) -> Tensor:
    """Validate dataset indices and return them as an int64 CPU tensor.

    Args:
        indices: dataset indices of the batch's samples.
        batch_size: expected number of indices.
        num_items: if given, every index must be in ``[0, num_items)``.

    Returns:
        ``(B,)`` int64 tensor on the CPU.

    Shape:
        - indices: ``(B,)``.

    Raises:
        TypeError: ``indices`` is not an integer tensor.
        ValueError: wrong shape or an index out of range.
    """
    if not isinstance(indices, Tensor):
        indices = torch.as_tensor(indices)
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
        raise TypeError(f"expected integer dataset indices, got dtype {indices.dtype}")
    if indices.ndim != 1 or indices.shape[0] != batch_size:
        raise ValueError(
            f"expected indices of shape ({batch_size},) to match the batch, "
            f"got {tuple(indices.shape)}"
        )
    out = indices.detach().to(device="cpu", dtype=torch.int64)
    if num_items is not None and out.numel() > 0:
        lo, hi = int(out.min()), int(out.max())
        if lo < 0 or hi >= num_items:
            raise ValueError(
                f"dataset index out of range: got indices in [{lo}, {hi}], "
                f"valid range is [0, {num_items})"
            )
    return out


def freeze_module(module: ModuleT) -> ModuleT:
    """Freeze a network in place: eval mode and ``requires_grad=False`` everywhere.

    Args:
        module: the network.

    Returns:
        The same module, frozen.
    """
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


class ImageTargetProvider:
    """Adapt an image-based :class:`ContentTarget` to the :class:`TargetProvider` protocol.

    The indices are ignored: the teacher runs on every batch (use
    :class:`~disentangle_fas.targets.TargetCache` to run it once per image instead).

    Args:
        target: the image-based target.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from disentangle_fas.targets import ModuleTarget
        >>> t = ModuleTarget(nn.AvgPool2d(2), name="pool")
        >>> p = ImageTargetProvider(t)
        >>> p(torch.rand(2, 3, 8, 8), torch.tensor([0, 1])).shape
        torch.Size([2, 3, 4, 4])
    """

    #: Called with ``(images, indices)``: a :class:`~disentangle_fas.targets.TargetProvider`.
    takes_indices = True

    def __init__(self, target: ContentTarget) -> None:
        self.target = target
        self.name = target.name
        self.version = target.version

    def output_shape(self, image_size: tuple[int, int]) -> tuple[int, int, int]:
        """Return the wrapped target's output shape for ``image_size``."""
        return self.target.output_shape(image_size)

    def __call__(self, images: Tensor, indices: Tensor) -> Tensor:
        """Run the wrapped target on ``images``; ``indices`` are checked and ignored.

        Args:
            images: the batch.
            indices: its dataset indices.

        Returns:
            The targets.

        Shape:
            - images: ``(B, 3, H, W)``; indices: ``(B,)``; output: ``(B, C, H', W')``.
        """
        check_indices(indices, images.shape[0])
        return self.target(images)

    def __repr__(self) -> str:
        return f"ImageTargetProvider({self.target!r})"


def as_provider(target: ContentTarget | TargetProvider) -> TargetProvider:
    """Return ``target`` as a :class:`TargetProvider`.

    An object whose ``takes_indices`` is ``True`` (every provider of the library:
    :class:`ImageTargetProvider`, :class:`~disentangle_fas.targets.TargetCache`,
    :class:`~disentangle_fas.targets.PrecomputedTarget`,
    :class:`~disentangle_fas.targets.LandmarkHeatmapTarget`) is returned unchanged; any
    other :class:`ContentTarget` (``__call__(images)``) is wrapped in
    :class:`ImageTargetProvider`.

    Args:
        target: a content target or a provider.

    Returns:
        A provider.

    Raises:
        TypeError: ``target`` is not callable or lacks ``name``/``version``/``output_shape``
            (wrap bare ``nn.Module`` teachers in
            :class:`~disentangle_fas.targets.ModuleTarget`), or its ``takes_indices`` is
            not a bool.

    Example:
        >>> from torch import nn
        >>> from disentangle_fas.targets import ModuleTarget, PrecomputedTarget
        >>> type(as_provider(ModuleTarget(nn.AvgPool2d(2), name="pool"))).__name__
        'ImageTargetProvider'
        >>> table = PrecomputedTarget(torch.zeros(4, 1, 2, 2))
        >>> as_provider(table) is table
        True
    """
    kind = type(target).__name__
    for attr in ("name", "version", "output_shape"):
        if not hasattr(target, attr):
            raise TypeError(
                f"{kind} is not a content target: it has no {attr!r}; "
                "wrap a bare nn.Module in disentangle_fas.targets.ModuleTarget"
            )
    if not callable(target):
        raise TypeError(f"{kind} is not a content target: it is not callable")
    takes_indices = getattr(target, "takes_indices", False)
    if not isinstance(takes_indices, bool):
        raise TypeError(
            f"{kind}.takes_indices must be True (called with images and indices) or False "
            f"(called with images), got {takes_indices!r}"
        )
    if takes_indices:
        return cast(TargetProvider, target)
    return ImageTargetProvider(cast(ContentTarget, target))
