"""SA-FAS (Sun et al., CVPR 2023, ResNet-18) assembled from library parts."""

from __future__ import annotations

from typing import NamedTuple, Self

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessPath, num_features_of
from disentangle_fas.methods.common.inputs import normalize_layer
from disentangle_fas.methods.common.model import MethodModel, check_in_features
from disentangle_fas.methods.safas.config import SAFASConfig
from disentangle_fas.methods.safas.heads import DomainLogisticHeads
from disentangle_fas.methods.safas.views import CenterCrop
from disentangle_fas.nn import pool
from disentangle_fas.registry import register_model_kind

__all__ = ["SAFAS", "MeanSigmoidLogits", "SAFASOutput"]


class SAFASOutput(NamedTuple):
    """What :class:`SAFAS` computes for a batch.

    Attributes:
        features: ``(B, D)`` pooled layer4 features (the SupCon loss normalises them).
        logits: ``(B, S)`` logits of the ``S`` domain heads.
    """

    features: Tensor
    logits: Tensor


class SAFAS(MethodModel[SAFASConfig]):
    """SA-FAS: a ResNet trunk, global average pooling and one logistic head per domain.

    ``forward`` is the training path on already augmented views:
    ``Normalize -> encoder -> pool -> heads`` (official ``ResNet.forward``). The inference
    path (:meth:`live_score`, :meth:`logits`, :meth:`liveness_path`) first applies the
    deterministic test crop (:class:`~disentangle_fas.safas.views.CenterCrop`, the
    centred square of ``test_crop_area`` of the image) and returns the mean of the heads'
    sigmoids.

    Args:
        encoder: a trunk following the encoder contract (``num_features``, a map output).
        heads: :class:`~disentangle_fas.safas.heads.DomainLogisticHeads` on its features.
        test_crop_area: area fraction kept by the test crop (1 disables it).
        config: set by :meth:`from_config`.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: :class:`SAFASOutput`; :meth:`live_score`: ``(B,)``.

    Example:
        >>> model = SAFAS.from_config(SAFASConfig(num_domains=3, depth=10), warn_random=False)
        >>> model(torch.rand(2, 3, 32, 32)).logits.shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        encoder: nn.Module,
        heads: DomainLogisticHeads,
        *,
        test_crop_area: float = 0.9,
        config: SAFASConfig | None = None,
    ) -> None:
        super().__init__()
        width = num_features_of(encoder)
        check_in_features("heads", heads.in_features, width, "the encoder's num_features")
        self.normalize = normalize_layer()
        self.encoder = encoder
        self.heads = heads
        self.test_crop = CenterCrop(test_crop_area)
        self.config = config

    @classmethod
    def trunk_name(cls, config: SAFASConfig) -> str:
        """``config.backbone``, or ``resnet<depth>`` when it is ``None``."""
        return config.backbone or super().trunk_name(config)

    @classmethod
    def assemble(cls, config: SAFASConfig, encoder: nn.Module, *, pretrained: bool) -> Self:
        """The heads on ``encoder`` (all of it keeps its ImageNet weights: the official model
        starts from ImageNet, ``--pretrain imagenet``).
        """
        d = num_features_of(encoder)
        heads = DomainLogisticHeads(d, config.num_domains, scale=config.logit_scale)
        return cls(encoder, heads, test_crop_area=config.test_crop_area, config=config)

    def embed(self, images: Tensor) -> Tensor:
        """Return the pooled features ``(B, D)`` of (already augmented or cropped) images."""
        return pool(self.encoder(self.normalize(images)))

    def forward(self, images: Tensor) -> SAFASOutput:
        """Training path: features and head logits of the given views (no test crop).

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            :class:`SAFASOutput`.
        """
        features = self.embed(images)
        return SAFASOutput(features, self.heads(features))

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live): the test crop, then the mean of the heads' sigmoids.

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B,)`` scores in ``[0, 1]``.
        """
        return self.heads.live_score(self.embed(self.test_crop(images)))

    def logits(self, images: Tensor) -> Tensor:
        """Two-class logits ``(0, log p - log(1 - p))`` of P(live) = ``p``: their softmax's
        second column is :meth:`live_score` (the form Grad-CAM and exporters expect).

        Shape:
            - Input: ``(B, 3, H, W)``; output ``(B, 2)``.
        """
        return MeanSigmoidLogits.two_class(self.live_score(images))

    def liveness_path(self) -> LivenessPath:
        """The inference path as one module (shares the weights).

        ``test crop + Normalize -> encoder -> MeanSigmoidLogits`` (pooling, the heads' mean
        sigmoid as two-class logits); its output equals :meth:`logits`.
        """
        return LivenessPath(
            self.encoder,
            MeanSigmoidLogits(self.heads),
            nn.Sequential(self.test_crop, self.normalize),
        )

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """``{"liveness": (B, D)}``: the pooled features of the test-cropped images."""
        return {"liveness": self.embed(self.test_crop(images))}


class MeanSigmoidLogits(nn.Module):
    """SA-FAS's heads seen as a two-class head: ``logits(f) = (0, logit(mean sigmoid))``.

    The heads are referenced, not copied. ``softmax(logits(f))[:, 1]`` is the mean of the
    heads' sigmoids, P(live).

    Shape:
        - Input: ``(B, D)`` or a map ``(B, D, h, w)`` (pooled first); output ``(B, 2)``.
    """

    def __init__(self, heads: DomainLogisticHeads) -> None:
        super().__init__()
        self.heads = heads

    @staticmethod
    def two_class(p: Tensor) -> Tensor:
        """Return ``(B, 2)`` logits ``(0, log p - log(1 - p))`` of probabilities ``(B,)``."""
        q = p.clamp(1e-7, 1.0 - 1e-7)
        z = torch.log(q) - torch.log1p(-q)
        return torch.stack([torch.zeros_like(z), z], dim=1)

    def logits(self, features: Tensor) -> Tensor:
        """Return the two-class logits of the heads' mean sigmoid."""
        return self.two_class(self.heads.live_score(pool(features)))

    def forward(self, features: Tensor) -> Tensor:
        """Same as :meth:`logits`."""
        return self.logits(features)


register_model_kind("sa-fas", SAFAS, SAFASConfig)
