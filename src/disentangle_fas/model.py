"""The paper's model as one ``nn.Module`` composed from the library's parts.

:class:`DisentangledFAS` only wires parts together: encoders with a shared stem, the LMCL
liveness head C_L, the domain classifier C_D and the content decoder D_C. Training losses
live in :class:`~disentangle_fas.losses.DisentanglementObjective`; inference needs E_L and
C_L only (:meth:`DisentangledFAS.live_score`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from disentangle_fas.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from disentangle_fas.data.transforms import Normalize as _Normalize
from disentangle_fas.encoders import SharedStemEncoders
from disentangle_fas.heads import (
    DEFAULT_LMCL_MARGIN,
    DEFAULT_LMCL_SCALE,
    ContentDecoder,
    DomainClassifier,
    LMCLHead,
)
from disentangle_fas.losses.objective import DisentangledFeatures, Variant

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "DisentangledFAS", "ModelConfig", "Normalize"]


def Normalize(  # noqa: N802 - a factory named like the module it returns
    mean: tuple[float, float, float] = IMAGENET_MEAN,
    std: tuple[float, float, float] = IMAGENET_STD,
) -> _Normalize:
    """The models' input normalisation: :class:`disentangle_fas.data.transforms.Normalize`
    with its statistics kept out of the ``state_dict`` (they are architecture, not weights).

    Shape:
        - Input/Output: ``(B, 3, H, W)``.
    """
    return _Normalize(mean, std, persistent=False)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a :class:`DisentangledFAS` (stored in checkpoints).

    Attributes:
        num_domains: number of source domains S.
        variant: ``"baseline"``, ``"content"``, ``"domain"`` or ``"full"``.
        depth: ResNet depth of the encoders.
        image_size: input side length.
        content_shape: ``(C, H, W)`` of the content target.
        scale: LMCL scale alpha.
        margin: LMCL margin m.
        domain_hidden: hidden width of C_D (``None``: linear).
    """

    num_domains: int
    variant: str = "full"
    depth: int = 18
    image_size: int = 256
    content_shape: tuple[int, int, int] = field(default=(1, 32, 32))
    scale: float = DEFAULT_LMCL_SCALE
    margin: float = DEFAULT_LMCL_MARGIN
    domain_hidden: int | None = None

    def __post_init__(self) -> None:
        Variant(self.variant)  # validates
        object.__setattr__(self, "content_shape", tuple(int(v) for v in self.content_shape))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        d = asdict(self)
        d["content_shape"] = list(self.content_shape)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Build from :meth:`to_dict` output; unknown keys raise ``TypeError``."""
        return cls(**data)


class DisentangledFAS(nn.Module):
    """E_L, E_C, E_D (shared stem) with C_L, C_D and D_C.

    Args:
        encoders: the three encoders; branches may be ``None`` for ablations.
        liveness_head: C_L.
        domain_head: C_D, needed when ``encoders.domain`` exists.
        content_decoder: D_C, needed when ``encoders.content`` exists.
        normalize: input normalisation applied first (images enter in ``[0, 1]``);
            ``None`` to feed the encoders directly.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: :class:`~disentangle_fas.losses.DisentangledFeatures` with
          ``(B, d, H/32, W/32)`` maps and ``content_pred`` of the decoder's shape.
        - :meth:`live_score`: ``(B,)`` P(live).
    """

    def __init__(
        self,
        encoders: SharedStemEncoders,
        liveness_head: LMCLHead,
        domain_head: DomainClassifier | None = None,
        content_decoder: ContentDecoder | None = None,
        *,
        normalize: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if (encoders.domain is None) != (domain_head is None):
            raise ValueError("domain_head must be given exactly when the domain encoder exists")
        if (encoders.content is None) != (content_decoder is None):
            raise ValueError(
                "content_decoder must be given exactly when the content encoder exists"
            )
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.encoders = encoders
        self.liveness_head = liveness_head
        self.domain_head = domain_head
        self.content_decoder = content_decoder
        #: Set by :meth:`build` / :meth:`from_config`; ``None`` for hand-assembled models
        #: (which :mod:`disentangle_fas.checkpoint` cannot rebuild on its own).
        self.config: ModelConfig | None = None

    @property
    def variant(self) -> Variant:
        """The :class:`~disentangle_fas.losses.Variant` matching the existing branches."""
        content, domain = self.encoders.content is not None, self.encoders.domain is not None
        if content and domain:
            return Variant.FULL
        if content:
            return Variant.CONTENT
        return Variant.DOMAIN if domain else Variant.BASELINE

    @classmethod
    def from_config(
        cls, config: ModelConfig, *, weights: str | Path | None = None, warn_random: bool = True
    ) -> DisentangledFAS:
        """Build the model described by a :class:`ModelConfig` (see :meth:`build`)."""
        model = cls.build(
            num_domains=config.num_domains,
            variant=config.variant,
            depth=config.depth,
            image_size=config.image_size,
            content_shape=config.content_shape,
            weights=weights,
            scale=config.scale,
            margin=config.margin,
            domain_hidden=config.domain_hidden,
            warn_random=warn_random,
        )
        model.config = config
        return model

    @classmethod
    def build(
        cls,
        *,
        num_domains: int,
        variant: Variant | str = Variant.FULL,
        depth: int = 18,
        image_size: int = 256,
        content_shape: tuple[int, int, int] = (1, 32, 32),
        weights: str | Path | None = None,
        scale: float = DEFAULT_LMCL_SCALE,
        margin: float = DEFAULT_LMCL_MARGIN,
        domain_hidden: int | None = None,
        warn_random: bool = True,
    ) -> DisentangledFAS:
        """Assemble the paper's model (or one of its ablations) with default parts.

        Args:
            num_domains: number of source domains S.
            variant: which branches to build.
            depth: ResNet depth of the encoders.
            image_size: input side length (sets the content decoder's upsampling depth).
            content_shape: ``(C, H, W)`` of the content target.
            weights: local torchvision ResNet state dict for ImageNet initialisation.
            scale: LMCL scale alpha.
            margin: LMCL margin m.
            domain_hidden: hidden width of C_D (``None``: linear).
            warn_random: warn when no ImageNet weights are given.

        Returns:
            The model, with ImageNet input normalisation.
        """
        v = Variant(variant)
        config = ModelConfig(
            num_domains=num_domains,
            variant=v.value,
            depth=depth,
            image_size=image_size,
            content_shape=content_shape,
            scale=scale,
            margin=margin,
            domain_hidden=domain_hidden,
        )
        encoders = SharedStemEncoders(
            depth,
            content=v.uses_content,
            domain=v.uses_domain,
            weights=weights,
            warn_random=warn_random,
        )
        d = encoders.num_features
        side = max(1, -(-image_size // 32))
        model = cls(
            encoders,
            LMCLHead(d, 2, scale=scale, margin=margin),
            DomainClassifier(d, num_domains, hidden=domain_hidden) if v.uses_domain else None,
            ContentDecoder(d, content_shape, in_size=(side, side)) if v.uses_content else None,
            normalize=Normalize(),
        )
        model.config = config
        return model

    def forward(self, images: Tensor) -> DisentangledFeatures:
        """Encode a batch with every branch and decode the content.

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            The encoders' maps and D_C's prediction.
        """
        maps = self.encoders(self.normalize(images))
        content_pred = None
        if self.content_decoder is not None and maps.content is not None:
            content_pred = self.content_decoder(maps.content)
        return DisentangledFeatures(maps.liveness, maps.content, maps.domain, content_pred)

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) from E_L and C_L only (the inference path).

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B,)`` scores in ``[0, 1]``.
        """
        features = self.encoders.liveness(self.normalize(images))
        return self.liveness_head.live_score(features)
