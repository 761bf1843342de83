"""SSDG-R (Jia et al., CVPR 2020, ResNet-18 backbone) assembled from library parts."""

from __future__ import annotations

from typing import NamedTuple, Self

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessPath, num_features_of
from disentangle_fas.encoders import ResNetEncoder
from disentangle_fas.heads import LMCLHead
from disentangle_fas.methods.common.inputs import normalize_layer
from disentangle_fas.methods.common.model import MethodModel, check_in_features
from disentangle_fas.methods.ssdg.config import SSDGConfig
from disentangle_fas.methods.ssdg.discriminator import SingleSideDiscriminator
from disentangle_fas.methods.ssdg.embedding import Embedding
from disentangle_fas.registry import register_model_kind

__all__ = ["SSDGR", "SSDGOutput"]


class SSDGOutput(NamedTuple):
    """What :class:`SSDGR` computes for a batch.

    Attributes:
        features: ``(B, D)`` embedding (after the bottleneck's ReLU and dropout).
        normalized: ``(B, D)`` the same, L2-normalised (fed to the triplet loss and the
            discriminator).
        cosine: ``(B, 2)`` cosines to the classifier's normalised prototypes (spoof, live).
        logits: ``(B, 2)`` ``scale * cosine`` (no margin); ``softmax(logits)[:, 1]`` is P(live).
    """

    features: Tensor
    normalized: Tensor
    cosine: Tensor
    logits: Tensor


class SSDGR(MethodModel[SSDGConfig]):
    """SSDG-R: ResNet trunk, embedding, normalised classifier and single-side discriminator.

    ``images -> Normalize -> encoder (layer4 map) -> Embedding -> f``; the classifier is an
    :class:`~disentangle_fas.heads.LMCLHead` (cosine of the L2-normalised feature and the
    L2-normalised class prototypes, times ``scale``), used with margin 0 by default: this is
    SSDG's "feature and weight normalisation" with a fixed scale. The discriminator is
    owned by the model (so one optimizer over ``model.parameters()`` trains it, as the
    official code does) but only the objective calls it.

    Args:
        encoder: a trunk following the encoder contract (``forward`` returns
            ``(B, C, h, w)``, integer ``num_features``).
        embedding: the bottleneck, ``embedding.in_features == encoder.num_features``.
        classifier: the normalised 2-class classifier on the embedding.
        discriminator: the single-side domain discriminator on the embedding.
        normalize: input normalisation (images enter in ``[0, 1]``); ``None`` feeds the
            encoder directly.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: :class:`SSDGOutput`; :meth:`live_score`: ``(B,)``.

    Example:
        >>> model = SSDGR.from_config(SSDGConfig(num_domains=3, depth=10), warn_random=False)
        >>> model(torch.rand(2, 3, 32, 32)).logits.shape
        torch.Size([2, 2])
    """

    def __init__(
        self,
        encoder: nn.Module,
        embedding: Embedding,
        classifier: LMCLHead,
        discriminator: SingleSideDiscriminator,
        *,
        normalize: nn.Module | None = None,
    ) -> None:
        super().__init__()
        width = num_features_of(encoder)
        check_in_features("embedding", embedding.in_features, width, "the encoder's num_features")
        if classifier.in_features != embedding.out_features or classifier.num_classes != 2:
            raise ValueError(
                f"the classifier must map {embedding.out_features} features to 2 classes, got "
                f"in_features={classifier.in_features}, num_classes={classifier.num_classes}"
            )
        check_in_features(
            "discriminator",
            discriminator.in_features,
            embedding.out_features,
            "the embedding width",
        )
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.encoder = encoder
        self.embedding = embedding
        self.classifier = classifier
        self.discriminator = discriminator
        #: Set by :meth:`from_config`; ``None`` for hand-assembled models.
        self.config = None

    @classmethod
    def trunk_name(cls, config: SSDGConfig) -> str:
        """``config.backbone``, or ``resnet<depth>`` when it is ``None``."""
        return config.backbone or super().trunk_name(config)

    @classmethod
    def assemble(cls, config: SSDGConfig, encoder: nn.Module, *, pretrained: bool) -> Self:
        """Embedding, classifier and discriminator on ``encoder``, with ImageNet input
        normalisation. With ImageNet weights, layer4 is reset to a fresh random
        initialisation unless ``config.imagenet_layer4``, as in the official code.
        """
        if pretrained and not config.imagenet_layer4 and isinstance(encoder, ResNetEncoder):
            fresh = ResNetEncoder(encoder.depth)
            encoder.layer4.load_state_dict(fresh.layer4.state_dict())
        d = num_features_of(encoder)
        return cls(
            encoder,
            Embedding(d, config.embed_dim, dropout=config.embed_dropout),
            LMCLHead(config.embed_dim, 2, scale=config.scale, margin=config.margin),
            SingleSideDiscriminator(
                config.embed_dim,
                config.num_domains,
                config.disc_hidden,
                dropout=config.disc_dropout,
            ),
            normalize=normalize_layer(),
        )

    def liveness_path(self) -> LivenessPath:
        """Normalisation, trunk, embedding and classifier: the whole inference path."""
        return LivenessPath(self.encoder, self.classifier, self.normalize, embedding=self.embedding)

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """``{"liveness": (B, D)}``: the embedding the classifier and discriminator see."""
        return {"liveness": self.embed(images)}

    def embed(self, images: Tensor) -> Tensor:
        """Return the embedding ``f`` of a batch, ``(B, D)``, not normalised."""
        out: Tensor = self.embedding(self.encoder(self.normalize(images)))
        return out

    def forward(self, images: Tensor) -> SSDGOutput:
        """Embed a batch and classify it.

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            :class:`SSDGOutput`.
        """
        features = self.embed(images)
        normalized = F.normalize(features, dim=1)
        cosine: Tensor = self.classifier(normalized)
        return SSDGOutput(features, normalized, cosine, self.classifier.scale * cosine)

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) = ``softmax(scale * cosine)[:, 1]``.

        Call ``model.eval()`` first: in training mode the embedding's dropout is active.

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B,)`` scores in ``[0, 1]``.
        """
        return torch.softmax(self(images).logits, dim=1)[:, 1]


register_model_kind("ssdg-r", SSDGR, SSDGConfig)
