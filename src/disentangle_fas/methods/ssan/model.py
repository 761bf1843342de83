"""SSAN-R (Wang et al., CVPR 2022, ResNet-18 variant) assembled from library parts."""

from __future__ import annotations

from typing import NamedTuple, Self

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import LivenessPath
from disentangle_fas.encoders import ResNetEncoder
from disentangle_fas.heads import DomainClassifier
from disentangle_fas.methods.common.inputs import normalize_layer
from disentangle_fas.methods.common.model import MethodModel
from disentangle_fas.methods.ssan.config import SSAN_DEPTHS, SSANConfig
from disentangle_fas.methods.ssan.paths import Assembly, StylePath, content_block
from disentangle_fas.nn import pool
from disentangle_fas.registry import register_model_kind

__all__ = ["SSANR", "LinearLogits", "SSANOutput", "SelfAssembly"]


class SSANOutput(NamedTuple):
    """What :class:`SSANR` computes for a batch.

    Attributes:
        logits: ``(B, 2)`` classifier logits of the self-assembled feature (spoof, live).
        self_assembled: ``(B, D)`` content and style of the same image.
        cross_assembled: ``(B, D)`` content of image ``i`` with the style of image
            ``perm[i]``; ``None`` when no permutation was given.
        content: ``(B, C)`` pooled content map (what the domain adversary sees).
        perm: ``(B,)`` the permutation used, or ``None``.
    """

    logits: Tensor
    self_assembled: Tensor
    cross_assembled: Tensor | None
    content: Tensor
    perm: Tensor | None


class SSANR(MethodModel[SSANConfig]):
    """SSAN-R: content and style paths on one ResNet trunk, AdaIN assembly, classifier.

    ``images -> Normalize -> stem, layer1..3`` (a :class:`~disentangle_fas.encoders.ResNetEncoder`
    without layer4). The content path adds :func:`~disentangle_fas.ssan.paths.content_block`
    on layer3; the style path (:class:`~disentangle_fas.ssan.paths.StylePath`) reads the
    maps of layers 1-3. :class:`~disentangle_fas.ssan.paths.Assembly` combines a content
    with a style; the classifier (``Linear(512, 2)``) scores the self-assembly. The domain
    discriminator (:class:`~disentangle_fas.heads.DomainClassifier`, official
    ``Discriminator``: 256-256-S MLP, dropout 0.5) is owned by the model, so one optimizer
    trains it, but only the objective calls it (through gradient reversal).

    The official model runs the trunk twice, on the batch and on the shuffled batch
    (``model(image_x, image_x[rand_idx])``). The style of an image depends on that image
    only, and batch norm sees the same set of images in both passes, so one pass and an
    indexed style (``gamma[perm]``) give the same values; only the running statistics are
    updated once instead of twice.

    Args:
        encoder: a ResNet trunk whose layers 1-3 have 64, 128 and 256 channels; its layer4
            is not used (and not kept).
        num_domains: number of source domains.
        config: the hyperparameters; :meth:`from_config` sets it.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``, ``H, W >= 32 * assembly_stride``
          (the assembled maps are ``H/(16 * assembly_stride)``; instance statistics need at
          least 2 positions).
        - :meth:`forward`: :class:`SSANOutput`; :meth:`live_score`: ``(B,)``.

    Example:
        >>> model = SSANR.from_config(SSANConfig(num_domains=3, depth=10), warn_random=False)
        >>> model(torch.rand(2, 3, 64, 64)).logits.shape
        torch.Size([2, 2])
    """

    def __init__(self, encoder: ResNetEncoder, config: SSANConfig) -> None:
        super().__init__()
        if encoder.depth not in SSAN_DEPTHS:
            raise ValueError(f"SSAN-R needs a ResNet of depth {list(SSAN_DEPTHS)}")
        self.normalize = normalize_layer()
        self.stem = encoder.stem
        self.layer1 = encoder.layer1
        self.layer2 = encoder.layer2
        self.layer3 = encoder.layer3
        self.content = content_block(256, config.assembly_stride)
        self.style = StylePath((64, 128, 256), last_stride=config.assembly_stride)
        self.assembly = Assembly(
            256,
            512,
            config.num_adain_blocks,
            released_blocks=config.released_adain_block,
            eps=config.adain_eps,
            unbiased=config.adain_unbiased,
        )
        self.classifier = nn.Linear(512, 2)
        self.discriminator = DomainClassifier(
            256, config.num_domains, hidden=config.disc_hidden, dropout=config.disc_dropout
        )
        self.config = config

    @classmethod
    def assemble(cls, config: SSANConfig, encoder: nn.Module, *, pretrained: bool) -> Self:
        """The two paths and the assembly on ``encoder``'s stem and layers 1-3 (their ImageNet
        weights, when given, as the official code starts from torchvision's ImageNet
        ResNet-18); layer4 is dropped.
        """
        if not isinstance(encoder, ResNetEncoder):
            raise TypeError(f"SSAN-R needs a ResNetEncoder, got {type(encoder).__name__}")
        return cls(encoder, config)

    def encode(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return the content map and the style ``(gamma, beta)`` of each image.

        Shape:
            - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
            - Output: content ``(B, 256, H/(16 s), W/(16 s))`` with ``s`` the assembly
              stride; gamma, beta ``(B, 256)``.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
        return self.encode_normalized(self.normalize(images))

    def encode_normalized(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`encode` on already normalised images."""
        x1 = self.layer1(self.stem(x))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        gamma, beta = self.style(x1, x2, x3)
        content: Tensor = self.content(x3)
        return content, gamma, beta

    def forward(self, images: Tensor, perm: Tensor | None = None) -> SSANOutput:
        """Self-assemble every image and, given ``perm``, cross-assemble with shuffled styles.

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.
            perm: ``(B,)`` permutation: image ``i`` gets the style of image ``perm[i]``.

        Returns:
            :class:`SSANOutput`.
        """
        content, gamma, beta = self.encode(images)
        own = self.assembly(content, gamma, beta)
        cross = None
        if perm is not None:
            if perm.shape != (images.shape[0],):
                raise ValueError(
                    f"perm must have shape ({images.shape[0]},), got {tuple(perm.shape)}"
                )
            cross = self.assembly(content, gamma[perm], beta[perm])
        logits: Tensor = self.classifier(own)
        return SSANOutput(logits, own, cross, pool(content), perm)

    def logits(self, images: Tensor) -> Tensor:
        """Return the ``(B, 2)`` logits of the self-assembly (the inference path)."""
        content, gamma, beta = self.encode(images)
        out: Tensor = self.classifier(self.assembly(content, gamma, beta))
        return out

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) = ``softmax(logits)[:, 1]`` of the self-assembly.

        Call ``model.eval()`` first (batch norm and the discriminator's dropout).

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B,)`` scores in ``[0, 1]``.
        """
        return torch.softmax(self.logits(images), dim=1)[:, 1]

    def liveness_path(self) -> LivenessPath:
        """The inference path as one module (shares the weights).

        ``normalize -> SelfAssembly`` (the self-assembled map, ``(B, 512, h, w)``) ``->``
        :class:`LinearLogits` (pooling and the classifier); its output equals :meth:`logits`.
        """
        return LivenessPath(SelfAssembly(self), LinearLogits(self.classifier), self.normalize)

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """``{"liveness": (B, 512), "content": (B, 256)}``: the pooled self-assembly the
        classifier sees, and the pooled content features the domain adversary sees.
        """
        content, gamma, beta = self.encode(images)
        return {"liveness": self.assembly(content, gamma, beta), "content": pool(content)}


class SelfAssembly(nn.Module):
    """The encoder of SSAN-R's inference path: normalised images to the self-assembled map.

    The model is referenced, not copied. Grad-CAM hooks :attr:`cam_layer` by default.

    Shape:
        - Input: ``(B, 3, H, W)`` normalised; output ``(B, 512, h, w)``.
    """

    def __init__(self, model: SSANR) -> None:
        super().__init__()
        self.model = model
        self.num_features = model.assembly.out_features

    @property
    def cam_layer(self) -> nn.Module:
        """The layer Grad-CAM explains by default: ``conv_final``, the last map before pooling."""
        return self.model.assembly.conv_final

    def forward(self, x: Tensor) -> Tensor:
        """Return the self-assembled map before pooling."""
        content, gamma, beta = self.model.encode_normalized(x)
        return self.model.assembly.feature_map(content, gamma, beta)


class LinearLogits(nn.Module):
    """A linear classifier seen as a head with ``logits(features)`` (shares the layer).

    A feature map is global-average-pooled first.

    Shape:
        - Input: ``(B, d)`` or ``(B, d, h, w)``; output ``(B, num_classes)``.
    """

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def logits(self, features: Tensor) -> Tensor:
        """Return ``linear(pool(features))``."""
        out: Tensor = self.linear(pool(features))
        return out

    def forward(self, features: Tensor) -> Tensor:
        """Same as :meth:`logits`."""
        return self.logits(features)


register_model_kind("ssan-r", SSANR, SSANConfig)
