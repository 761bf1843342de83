"""What the methods' models (SA-FAS, SSAN-R, SSDG-R) share: a build from their config around
one trunk, and an input spec read from that config.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Generic, Protocol, Self, TypeVar

from torch import nn

from disentangle_fas.contracts import InputSpec, LivenessModel
from disentangle_fas.encoders import create_encoder
from disentangle_fas.methods.common.inputs import input_spec_of

__all__ = ["MethodConfigLike", "MethodModel", "check_in_features"]


def check_in_features(part: str, in_features: int, width: int, source: str) -> None:
    """Raise unless a part's input width is the width of what feeds it.

    Args:
        part: the part's name, for the message (``"heads"``).
        in_features: the part's input width.
        width: the width it is fed.
        source: what feeds it, for the message (``"the encoder's num_features"``).

    Raises:
        ValueError: ``"<part>.in_features=<n> does not match <source>=<width>"``.
    """
    if in_features != width:
        raise ValueError(f"{part}.in_features={in_features} does not match {source}={width}")


class MethodConfigLike(Protocol):
    """What :class:`MethodModel` reads of a method's config."""

    @property
    def depth(self) -> int:
        """ResNet depth of the trunk."""

    @property
    def image_size(self) -> int | None:
        """Input side the model was trained at (``None`` when unknown)."""


ConfigT = TypeVar("ConfigT", bound=MethodConfigLike)


class MethodModel(LivenessModel, Generic[ConfigT]):
    """Base of a method's model, built by :meth:`from_config` around one trunk.

    A subclass sets ``self.normalize`` (the input normalisation) and ``self.config`` and
    implements :meth:`assemble`; it may choose its trunk with :meth:`trunk_name`.
    """

    normalize: nn.Module
    config: ConfigT | None

    @classmethod
    def trunk_name(cls, config: ConfigT) -> str:
        """The :func:`~disentangle_fas.encoders.create_encoder` name of the trunk:
        ``resnet<depth>``.
        """
        return f"resnet{config.depth}"

    @classmethod
    @abstractmethod
    def assemble(cls, config: ConfigT, encoder: nn.Module, *, pretrained: bool) -> Self:
        """Build the model around ``encoder`` as ``config`` describes (:meth:`from_config`
        then sets ``model.config``).

        Args:
            config: the hyperparameters.
            encoder: the trunk named by :meth:`trunk_name`.
            pretrained: whether ``encoder`` holds ImageNet weights.
        """

    @classmethod
    def from_config(
        cls,
        config: ConfigT,
        *,
        weights: str | Path | None = None,
        warn_random: bool = True,
    ) -> Self:
        """Build the model as described by ``config``.

        Args:
            config: the hyperparameters.
            weights: local torchvision ResNet state dict file for the trunk's ImageNet
                initialisation (the methods' official code starts from ImageNet; what each
                keeps of it: its :meth:`assemble`); nothing is downloaded.
            warn_random: warn when no ImageNet weights are given.

        Returns:
            The model; ``model.config`` is ``config``.
        """
        encoder = create_encoder(cls.trunk_name(config), weights=weights, warn_random=warn_random)
        model = cls.assemble(config, encoder, pretrained=weights is not None)
        model.config = config
        return model

    @property
    def input_spec(self) -> InputSpec | None:
        """Input size (from the config) and normalisation; ``None`` when the size is unknown."""
        return input_spec_of(
            None if self.config is None else self.config.image_size, self.normalize
        )
