"""Image transforms for ``(3, H, W)`` / ``(B, 3, H, W)`` float tensors in ``[0, 1]``.

Datasets return images in ``[0, 1]``; normalisation belongs to the model, so
:class:`Normalize` is an ``nn.Module`` (ImageNet statistics by default) that can sit at the
front of an encoder.

Example:
    >>> import torch
    >>> from disentangle_fas.data.transforms import Compose, Normalize, RandomHorizontalFlip
    >>> x = torch.rand(3, 8, 8)
    >>> torch.equal(Compose([RandomHorizontalFlip(p=1.0)])(x), x.flip(-1))
    True
    >>> Normalize()(x.unsqueeze(0)).shape
    torch.Size([1, 3, 8, 8])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import IMAGENET_MEAN, IMAGENET_STD

#: Per-channel statistics (R, G, B).
ChannelStats = Sequence[float]

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ChannelStats",
    "ColorJitter",
    "Compose",
    "Normalize",
    "RandomHorizontalFlip",
    "denormalize",
    "hflip",
    "normalize",
    "train_transform",
]


def _check(image: Tensor) -> None:
    if not isinstance(image, Tensor):
        raise TypeError(f"expected a tensor, got {type(image).__name__}")
    if image.dim() not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"expected (3, H, W) or (B, 3, H, W), got shape {tuple(image.shape)}")


def _stats(image: Tensor, mean: ChannelStats, std: ChannelStats) -> tuple[Tensor, Tensor]:
    m = torch.as_tensor(mean, dtype=image.dtype, device=image.device).view(3, 1, 1)
    s = torch.as_tensor(std, dtype=image.dtype, device=image.device).view(3, 1, 1)
    if bool((s <= 0).any()):
        raise ValueError(f"std must be positive, got {list(std)}")
    return m, s


def normalize(
    image: Tensor, mean: ChannelStats = IMAGENET_MEAN, std: ChannelStats = IMAGENET_STD
) -> Tensor:
    """``(image - mean) / std`` per channel.

    Args:
        image: ``(3, H, W)`` or ``(B, 3, H, W)``.
        mean: per-channel mean.
        std: per-channel standard deviation (positive).

    Returns:
        The normalised image, same shape.

    Shape:
        - image: ``(3, H, W)`` or ``(B, 3, H, W)``; output: same.

    Raises:
        TypeError: not a tensor.
        ValueError: wrong shape or non-positive std.
    """
    _check(image)
    m, s = _stats(image, mean, std)
    return (image - m) / s


def denormalize(
    image: Tensor, mean: ChannelStats = IMAGENET_MEAN, std: ChannelStats = IMAGENET_STD
) -> Tensor:
    """Inverse of :func:`normalize`: ``image * std + mean``.

    Args:
        image: a normalised image, ``(3, H, W)`` or ``(B, 3, H, W)``.
        mean: the per-channel mean that :func:`normalize` subtracted.
        std: the per-channel standard deviation it divided by.

    Returns:
        The image in the original scale.

    Shape:
        - image: ``(3, H, W)`` or ``(B, 3, H, W)``; output: same.
    """
    _check(image)
    m, s = _stats(image, mean, std)
    return image * s + m


class Normalize(nn.Module):
    """Per-channel normalisation as a module (buffers follow ``.to(device)``).

    Args:
        mean: per-channel mean (ImageNet by default).
        std: per-channel standard deviation (ImageNet by default).
        persistent: keep ``mean``/``std`` in the ``state_dict`` (the models of the library
            pass ``False``: the statistics are part of the architecture, not weights).

    Shape:
        - input: ``(B, 3, H, W)`` or ``(3, H, W)``; output: same.
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        mean: ChannelStats = IMAGENET_MEAN,
        std: ChannelStats = IMAGENET_STD,
        *,
        persistent: bool = True,
    ) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3:
            raise ValueError("mean and std need 3 values (RGB)")
        if min(std) <= 0:
            raise ValueError(f"std must be positive, got {list(std)}")
        t = torch.tensor
        self.register_buffer("mean", t(mean, dtype=torch.float32).view(3, 1, 1), persistent)
        self.register_buffer("std", t(std, dtype=torch.float32).view(3, 1, 1), persistent)

    def forward(self, image: Tensor) -> Tensor:
        """Normalise ``image``."""
        _check(image)
        return (image - self.mean.to(image.dtype)) / self.std.to(image.dtype)

    def stats(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Return ``(mean, std)`` as tuples of three floats (rounded to 6 decimals, which
        undoes the float32 storage of the buffers for statistics given with fewer).
        """
        m = [round(float(v), 6) for v in self.mean.flatten().tolist()]
        s = [round(float(v), 6) for v in self.std.flatten().tolist()]
        return (m[0], m[1], m[2]), (s[0], s[1], s[2])


def hflip(image: Tensor) -> Tensor:
    """Mirror left-right (last dimension).

    Args:
        image: ``(..., H, W)``.

    Returns:
        The flipped image.
    """
    return torch.flip(image, dims=(-1,))


class RandomHorizontalFlip:
    """Mirror with probability ``p`` (uses torch's global RNG, seeded per DataLoader worker).

    Args:
        p: flip probability in ``[0, 1]``.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, image: Tensor) -> Tensor:
        """Flip ``image`` with probability ``p``."""
        if self.p > 0 and float(torch.rand(())) < self.p:
            return hflip(image)
        return image

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class ColorJitter:
    """Random brightness / contrast / saturation / hue (torchvision's), clamped to ``[0, 1]``.

    Args:
        brightness: see ``torchvision.transforms.ColorJitter``.
        contrast: idem.
        saturation: idem.
        hue: idem (at most 0.5).
    """

    def __init__(
        self,
        brightness: float = 0.2,
        contrast: float = 0.2,
        saturation: float = 0.2,
        hue: float = 0.0,
    ) -> None:
        from torchvision.transforms import ColorJitter as _TVJitter

        self._jitter = _TVJitter(brightness, contrast, saturation, hue)

    def __call__(self, image: Tensor) -> Tensor:
        """Jitter ``image`` (``(3, H, W)`` in ``[0, 1]``)."""
        _check(image)
        out: Tensor = self._jitter(image)
        return out.clamp(0.0, 1.0)

    def __repr__(self) -> str:
        return f"ColorJitter({self._jitter!r})"


class Compose:
    """Apply transforms in order.

    Args:
        transforms: callables ``Tensor -> Tensor``.
    """

    def __init__(self, transforms: Sequence[Callable[[Tensor], Tensor]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: Tensor) -> Tensor:
        """Apply every transform."""
        for t in self.transforms:
            image = t(image)
        return image

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


def train_transform(flip: bool = True, jitter: ColorJitter | None = None) -> Compose:
    """The default training augmentation: random horizontal flip, optional colour jitter.

    Args:
        flip: add :class:`RandomHorizontalFlip` (p = 0.5).
        jitter: a :class:`ColorJitter`, or ``None`` for none.

    Returns:
        The composed transform (images stay in ``[0, 1]``).
    """
    parts: list[Callable[[Tensor], Tensor]] = []
    if flip:
        parts.append(RandomHorizontalFlip(0.5))
    if jitter is not None:
        parts.append(jitter)
    return Compose(parts)
