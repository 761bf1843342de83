"""The configuration of :class:`~disentangle_fas.model.DisentangledFAS` (stored in
checkpoints) and the models' input normalisation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

from disentangle_fas.contracts import IMAGENET_MEAN, IMAGENET_STD, InputSpec, Variant
from disentangle_fas.data.transforms import Normalize as _Normalize
from disentangle_fas.heads import DEFAULT_LMCL_MARGIN, DEFAULT_LMCL_SCALE

__all__ = ["ModelConfig", "input_spec_of", "normalization_stats", "normalize_layer"]


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


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a :class:`DisentangledFAS` (stored in checkpoints).

    Attributes:
        num_domains: number of source domains S.
        variant: ``"baseline"``, ``"content"``, ``"domain"`` or ``"full"``.
        depth: ResNet depth of the encoders when ``backbone`` is ``None``.
        image_size: input side length.
        content_shape: ``(C, H, W)`` of the content target.
        scale: LMCL scale alpha.
        margin: LMCL margin m.
        domain_hidden: hidden width of C_D (``None``: linear).
        backbone: the encoders' backbone (any name of
            :func:`~disentangle_fas.encoders.create_encoder`); ``None`` means
            ``f"resnet{depth}"``.
        content_backbone: E_C's backbone when it differs (``None``: ``backbone``).
        domain_backbone: E_D's backbone when it differs (``None``: ``backbone``).
        feature_dim: project every encoder to this width with a 1x1 convolution
            (:class:`~disentangle_fas.encoders.ProjectedEncoder`); ``None`` keeps the
            backbones' widths, which must then agree.
        share_stem: share the first layer between the encoders (the paper's choice); only
            possible when all three have the same stemmed backbone.
        mean: input normalisation mean (RGB).
        std: input normalisation standard deviation (RGB).
    """

    num_domains: int
    variant: str = "full"
    depth: int = 18
    image_size: int = 256
    content_shape: tuple[int, int, int] = field(default=(1, 32, 32))
    scale: float = DEFAULT_LMCL_SCALE
    margin: float = DEFAULT_LMCL_MARGIN
    domain_hidden: int | None = None
    backbone: str | None = None
    content_backbone: str | None = None
    domain_backbone: str | None = None
    feature_dim: int | None = None
    share_stem: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        Variant(self.variant)  # validates
        object.__setattr__(self, "content_shape", tuple(int(v) for v in self.content_shape))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if self.feature_dim is not None and self.feature_dim < 1:
            raise ValueError(f"feature_dim must be >= 1, got {self.feature_dim}")
        InputSpec(self.image_size, self.mean, self.std)  # validates

    @property
    def backbones(self) -> dict[str, str]:
        """The backbone name of each encoder of the variant (``liveness``, ...)."""
        main = self.backbone or f"resnet{self.depth}"
        v = Variant(self.variant)
        out = {"liveness": main}
        if v.uses_content:
            out["content"] = self.content_backbone or main
        if v.uses_domain:
            out["domain"] = self.domain_backbone or main
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        d = asdict(self)
        for key in ("content_shape", "mean", "std"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from :meth:`to_dict` output; unknown keys raise ``TypeError``.

        Dicts written before a field existed get the field's default.
        """
        return cls(**data)
