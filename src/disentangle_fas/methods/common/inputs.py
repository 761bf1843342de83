"""The input side every method's model shares: the normalisation layer (kept out of the
state dict) and the :class:`~disentangle_fas.contracts.InputSpec` rule.
"""

from __future__ import annotations

from torch import nn

from disentangle_fas.contracts import IMAGENET_MEAN, IMAGENET_STD, InputSpec
from disentangle_fas.data.transforms import Normalize as _Normalize

__all__ = ["input_spec_of", "normalization_stats", "normalize_layer"]


def normalize_layer(
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> _Normalize:
    """Build the models' input normalisation layer.

    It is a :class:`disentangle_fas.data.transforms.Normalize` whose statistics stay out of
    the ``state_dict`` (they are architecture, not weights; checkpoints record them in
    the model's config).

    Args:
        mean: per-channel mean (ImageNet's by default).
        std: per-channel standard deviation (ImageNet's by default).

    Returns:
        The layer, ``(x - mean) / std`` per channel.

    Shape:
        - Input/Output: ``(B, 3, H, W)``.

    Example:
        >>> import torch
        >>> normalize_layer((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(torch.ones(1, 3, 2, 2)).max()
        tensor(1.)
    """
    return _Normalize(mean, std, persistent=False)


def normalization_stats(
    module: nn.Module,
) -> tuple[tuple[float, float, float], tuple[float, float, float]] | None:
    """Return ``(mean, std)`` of a model's input normalisation module.

    :class:`~disentangle_fas.data.transforms.Normalize` gives its statistics,
    ``nn.Identity`` gives zeros and ones; anything else ``None`` (unknown).
    """
    if isinstance(module, _Normalize):
        return module.stats()
    if isinstance(module, nn.Identity):
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    return None


def input_spec_of(image_size: int | None, normalize: nn.Module) -> InputSpec | None:
    """The :class:`~disentangle_fas.contracts.InputSpec` of a model that normalises its
    inputs with ``normalize`` and was built for ``image_size`` (``None`` when either is
    unknown): the one rule every model's ``input_spec`` follows.
    """
    stats = normalization_stats(normalize)
    return None if image_size is None or stats is None else InputSpec(image_size, *stats)
