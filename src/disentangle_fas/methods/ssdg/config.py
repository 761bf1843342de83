"""Every SSDG-R hyperparameter with its default, in one frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disentangle_fas.encoders import ENCODER_DEPTHS
from disentangle_fas.heads import DEFAULT_LMCL_SCALE
from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics
from disentangle_fas.methods.ssdg.discriminator import (
    DEFAULT_DISCRIMINATOR_DROPOUT,
    DEFAULT_DISCRIMINATOR_HIDDEN,
)
from disentangle_fas.methods.ssdg.embedding import DEFAULT_EMBED_DIM, DEFAULT_EMBED_DROPOUT
from disentangle_fas.methods.ssdg.triplet import DEFAULT_TRIPLET_MARGIN

__all__ = [
    "DEFAULT_GRL_GAMMA",
    "DEFAULT_LAMBDA_ADV",
    "DEFAULT_LAMBDA_TRIP",
    "OFFICIAL_LOSS_WEIGHTS",
    "SSDGConfig",
]

#: GRL schedule steepness of the official code (``GRL.alpha = 10``).
DEFAULT_GRL_GAMMA = 10.0
#: Weight of the single-side adversarial loss: official ``lambda_adreal`` of the
#: I&C&M -> O experiment (``experiment/I_C_M_to_O/config.py``).
DEFAULT_LAMBDA_ADV = 0.1
#: Weight of the asymmetric triplet loss: official ``lambda_triplet`` of the same experiment.
DEFAULT_LAMBDA_TRIP = 2.0

#: ``(lambda_adv, lambda_trip)`` of the official configs, by target domain of the
#: leave-one-out protocol (``experiment/<sources>_to_<target>/config.py``).
OFFICIAL_LOSS_WEIGHTS: dict[str, tuple[float, float]] = {
    "O": (0.1, 2.0),
    "C": (0.5, 1.0),
    "I": (0.5, 1.0),
    "M": (0.5, 1.0),
}


@dataclass(frozen=True)
class SSDGConfig(DictConfig):
    """Everything needed to rebuild an :class:`~disentangle_fas.ssdg.SSDGR` and its objective.

    Sources: "official" is github.com/taylover-pei/SSDG-CVPR2020; "ours" marks choices the
    official code does not fix (docs/ssdg.md explains each).

    Attributes:
        num_domains: number of source domains S (official: 3).
        depth: ResNet depth of the trunk (official: 18, "SSDG-R").
        embed_dim: bottleneck width (official: 512).
        embed_dropout: bottleneck dropout (official: 0.5).
        scale: logit scale of the cosine classifier (ours: 16, close to the official code's
            effective scale at initialisation).
        margin: additive cosine margin of the classification loss (official: none, 0).
        disc_hidden: discriminator hidden width (official: 512); ``None`` for linear.
        disc_dropout: discriminator dropout (official: 0.5).
        lambda_adv: weight of the single-side adversarial loss (official O target: 0.1; a run
            on target O, C, I or M starts from that target's official weight).
        lambda_trip: weight of the asymmetric triplet loss (official O target: 2; per target
            as ``lambda_adv``).
        triplet_margin: triplet margin (official: 0.1).
        triplet_reduction: ``"positive"`` (official) or ``"valid"``.
        grl_gamma: steepness of the GRL schedule (official: 10).
        imagenet_layer4: when ImageNet weights are loaded, load them into layer4 too. The
            official code loads them into conv1..layer3 only and leaves layer4 random
            (``Feature_Embedder_ResNet18`` builds ``resnet18(pretrained=False)``): False.
        image_size: the input side the model is trained for (stored in checkpoints so that
            inference resizes to it); ``None`` when unknown (files that predate the field).
        backbone: the trunk's backbone (any name of
            :func:`~disentangle_fas.encoders.create_encoder`); ``None`` means
            ``f"resnet{depth}"`` (the official SSDG-R).
    """

    num_domains: int
    depth: int = 18
    embed_dim: int = DEFAULT_EMBED_DIM
    embed_dropout: float = DEFAULT_EMBED_DROPOUT
    scale: float = DEFAULT_LMCL_SCALE
    margin: float = 0.0
    disc_hidden: int | None = DEFAULT_DISCRIMINATOR_HIDDEN
    disc_dropout: float = DEFAULT_DISCRIMINATOR_DROPOUT
    lambda_adv: float = DEFAULT_LAMBDA_ADV
    lambda_trip: float = DEFAULT_LAMBDA_TRIP
    triplet_margin: float = DEFAULT_TRIPLET_MARGIN
    triplet_reduction: str = "positive"
    grl_gamma: float = DEFAULT_GRL_GAMMA
    imagenet_layer4: bool = False
    image_size: int | None = None
    backbone: str | None = None

    def __post_init__(self) -> None:
        check_method_basics(self.num_domains, self.depth, ENCODER_DEPTHS)
        if self.image_size is not None and self.image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {self.image_size}")
        if self.embed_dim <= 0:
            raise ValueError(f"embed_dim must be positive, got {self.embed_dim}")
        if self.disc_hidden is not None and self.disc_hidden <= 0:
            raise ValueError(f"disc_hidden must be positive or None, got {self.disc_hidden}")
        for name in ("embed_dropout", "disc_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
        check_finite(
            self, ("margin", "lambda_adv", "lambda_trip", "triplet_margin"), positive=False
        )
        check_finite(self, ("scale", "grl_gamma"), positive=True)
        if self.triplet_reduction not in ("positive", "valid"):
            raise ValueError(
                f"triplet_reduction must be 'positive' or 'valid', got {self.triplet_reduction!r}"
            )

    @classmethod
    def official(cls, target: str, num_domains: int = 3, **overrides: Any) -> SSDGConfig:
        """Config with the official loss weights of a leave-one-out target.

        Targets are ``"O"``, ``"C"``, ``"I"`` and ``"M"`` (:data:`OFFICIAL_LOSS_WEIGHTS`);
        every other field keeps its default unless overridden.

        Args:
            target: the held-out domain's letter.
            num_domains: number of source domains (3 in the official protocols).
            **overrides: other fields to set.

        Returns:
            The config.

        Raises:
            ValueError: unknown target.
        """
        key = target.upper()
        if key not in OFFICIAL_LOSS_WEIGHTS:
            raise ValueError(
                f"no official SSDG config for target {target!r}; expected one of "
                f"{sorted(OFFICIAL_LOSS_WEIGHTS)}"
            )
        adv, trip = OFFICIAL_LOSS_WEIGHTS[key]
        fields: dict[str, Any] = {"lambda_adv": adv, "lambda_trip": trip, **overrides}
        return cls(num_domains=num_domains, **fields)
