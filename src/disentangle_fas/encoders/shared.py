"""The paper's three encoders E_L, E_C, E_D as one module, with an optional shared stem."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from torch import Tensor, nn

from disentangle_fas.contracts import StemmedEncoder, num_features_of
from disentangle_fas.encoders.factory import create_encoder
from disentangle_fas.encoders.resnet import check_images
from disentangle_fas.weights import load_state_dict_file

__all__ = ["DisentangledEncoders", "EncoderMaps", "SharedStemEncoders"]


class EncoderMaps(NamedTuple):
    """Feature maps of the three encoders; a branch that is switched off is ``None``."""

    liveness: Tensor
    content: Tensor | None
    domain: Tensor | None


class DisentangledEncoders(nn.Module):
    """E_L (liveness), E_C (content), E_D (domain): three encoders of any kind.

    The paper shares "the weights of the first layer" between the encoders. Here that is a
    ``stem`` module that is one instance inside every encoder (each a
    :class:`~disentangle_fas.contracts.StemmedEncoder` whose ``stem`` *is* that module);
    :meth:`forward` then runs the stem once. Without a shared stem each encoder runs whole.
    Branches can be ``None`` for the ablations of the paper's Table 3.

    Args:
        liveness: E_L.
        content: E_C or ``None``.
        domain: E_D or ``None``.
        stem: the shared stem, or ``None``.

    Raises:
        ValueError: an encoder lacks an integer ``num_features``, the widths differ (wrap
            encoders in :class:`~disentangle_fas.encoders.ProjectedEncoder`), or ``stem`` is
            not every encoder's stem.

    Shape:
        each encoder maps ``(B, 3, H, W)`` to ``(B, num_features, h, w)``.
    """

    def __init__(
        self,
        liveness: nn.Module,
        content: nn.Module | None = None,
        domain: nn.Module | None = None,
        *,
        stem: nn.Module | None = None,
    ) -> None:
        super().__init__()
        found = {"liveness": liveness, "content": content, "domain": domain}
        present = {k: v for k, v in found.items() if v is not None}
        widths = {role: num_features_of(enc) for role, enc in present.items()}
        if len(set(widths.values())) > 1:
            raise ValueError(
                f"the encoders' widths differ ({widths}): the confusion terms apply every head "
                "to every encoder, so wrap them in ProjectedEncoder(encoder, d) (or build with "
                "feature_dim=d)"
            )
        if stem is not None:
            for role, enc in present.items():
                if not isinstance(enc, StemmedEncoder) or enc.stem is not stem:
                    raise ValueError(
                        f"stem is not the {role} encoder's stem: build every encoder with "
                        "stem=<the shared module> (create_encoder(name, stem=...))"
                    )
        self.stem = stem
        self.liveness = liveness
        self.content = content
        self.domain = domain
        self.num_features: int = widths["liveness"]

    def forward(self, x: Tensor) -> EncoderMaps:
        """Encode a batch with every existing branch (running a shared stem once).

        Args:
            x: ``(B, 3, H, W)`` normalised images.

        Returns:
            :class:`EncoderMaps` with ``(B, num_features, h, w)`` maps.
        """
        check_images(x)
        if self.stem is None:
            return EncoderMaps(
                self.liveness(x),
                None if self.content is None else self.content(x),
                None if self.domain is None else self.domain(x),
            )
        h = self.stem(x)
        return EncoderMaps(
            _trunk(self.liveness, h),
            None if self.content is None else _trunk(self.content, h),
            None if self.domain is None else _trunk(self.domain, h),
        )

    def encoders(self) -> dict[str, nn.Module]:
        """Return the existing encoders by name (``liveness``, ``content``, ``domain``)."""
        found = {"liveness": self.liveness, "content": self.content, "domain": self.domain}
        return {k: v for k, v in found.items() if v is not None}

    def load_torchvision_state_dict(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load one torchvision state dict into every encoder (and the shared stem).

        Raises:
            ValueError: an encoder cannot take it (see the encoders' own loaders).
        """
        for role, encoder in self.encoders().items():
            load = getattr(encoder, "load_torchvision_state_dict", None)
            if load is None:
                raise ValueError(f"the {role} encoder cannot load torchvision weights")
            load(state_dict)


def _trunk(encoder: nn.Module, h: Tensor) -> Tensor:
    out: Tensor = encoder.forward_trunk(h)  # type: ignore[operator]
    return out


class SharedStemEncoders(DisentangledEncoders):
    """The paper's encoders: three trunks of one backbone sharing one stem.

    Args:
        depth: ResNet depth of all three trunks (when ``backbone`` is ``None``).
        content: build E_C.
        domain: build E_D.
        weights: optional local torchvision state dict file, loaded into every trunk (and
            the shared stem).
        warn_random: warn when no weights are given.
        backbone: any stemmed backbone name of
            :func:`~disentangle_fas.encoders.create_encoder` (e.g. ``"mobilenet_v3_small"``);
            ``None`` means ``f"resnet{depth}"``.

    Attributes:
        stem: the shared first layer.
        liveness, content, domain: E_L, E_C (or ``None``), E_D (or ``None``).

    Shape:
        each encoder maps ``(B, 3, H, W)`` to ``(B, num_features, H/32, W/32)``.
    """

    def __init__(
        self,
        depth: int = 18,
        *,
        content: bool = True,
        domain: bool = True,
        weights: str | Path | None = None,
        warn_random: bool = True,
        backbone: str | None = None,
    ) -> None:
        name = backbone if backbone is not None else f"resnet{depth}"
        state = load_state_dict_file(weights) if weights is not None else None
        first = create_encoder(name, warn_random=False)
        if not isinstance(first, StemmedEncoder):
            raise ValueError(f"{name} has no separable stem to share; use DisentangledEncoders")
        stem = first.stem

        def make() -> nn.Module:
            return create_encoder(name, stem=stem, warn_random=False)

        super().__init__(first, make() if content else None, make() if domain else None, stem=stem)
        self.stem: nn.Module = stem
        if state is not None:
            self.load_torchvision_state_dict(state)
        elif warn_random:
            warnings.warn(
                f"SharedStemEncoders: no ImageNet weights given, {name} trunks are randomly "
                "initialised. Pass weights=<local torchvision state dict file> to start from "
                "ImageNet as the paper does. Nothing is downloaded.",
                stacklevel=2,
            )
