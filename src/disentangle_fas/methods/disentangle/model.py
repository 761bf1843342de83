"""The paper's model as one ``nn.Module`` composed from the library's parts.

:class:`DisentangledFAS` only wires parts together: three encoders (any backbone, with an
optional shared stem), the LMCL liveness head C_L, the domain classifier C_D and the content
decoder D_C. Training losses live in
:class:`~disentangle_fas.methods.disentangle.DisentanglementObjective`; inference needs E_L and C_L only
(:meth:`DisentangledFAS.live_score`, :meth:`DisentangledFAS.liveness_path`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from disentangle_fas.contracts import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    DisentangledFeatures,
    InputSpec,
    LivenessModel,
    LivenessPath,
    StemmedEncoder,
    Variant,
    num_features_of,
)
from disentangle_fas.encoders import (
    DisentangledEncoders,
    ProjectedEncoder,
    create_encoder,
    load_state_dict_file,
)
from disentangle_fas.heads import (
    DEFAULT_LMCL_MARGIN,
    DEFAULT_LMCL_SCALE,
    ContentDecoder,
    DomainClassifier,
    LMCLHead,
)
from disentangle_fas.losses.erasure import LeaceErasure
from disentangle_fas.methods.common.inputs import input_spec_of, normalize_layer
from disentangle_fas.methods.disentangle.config import ModelConfig
from disentangle_fas.methods.disentangle.removal import build_adversaries
from disentangle_fas.nn import pool
from disentangle_fas.registry import register_model_kind

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "DisentangledFAS", "ModelConfig", "normalize_layer"]


class DisentangledFAS(LivenessModel):
    """E_L, E_C, E_D (optionally sharing a stem) with C_L, C_D and D_C.

    Args:
        encoders: the three encoders
            (:class:`~disentangle_fas.encoders.DisentangledEncoders`, e.g.
            :class:`~disentangle_fas.encoders.SharedStemEncoders`); branches may be ``None``
            for ablations.
        liveness_head: C_L.
        domain_head: C_D, needed when ``encoders.domain`` exists.
        content_decoder: D_C, needed when ``encoders.content`` exists.
        normalize: input normalisation applied first (images enter in ``[0, 1]``);
            ``None`` to feed the encoders directly.
        image_size: the input side the model is meant for (stored in checkpoints; set by
            :meth:`build`).
        adversaries: the adversaries of ``domain_removal="adversarial"`` (training only).
        eraser: a LEACE eraser between E_L and C_L (``erase="leace"``); on the inference
            path.

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
        - :meth:`forward`: :class:`~disentangle_fas.contracts.DisentangledFeatures` with
          ``(B, d, h, w)`` maps and ``content_pred`` of the decoder's shape.
        - :meth:`live_score`: ``(B,)`` P(live).
    """

    def __init__(
        self,
        encoders: DisentangledEncoders,
        liveness_head: LMCLHead,
        domain_head: DomainClassifier | None = None,
        content_decoder: ContentDecoder | None = None,
        *,
        normalize: nn.Module | None = None,
        image_size: int | None = None,
        adversaries: nn.ModuleDict | None = None,
        eraser: LeaceErasure | None = None,
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
        self.image_size = image_size
        self.adversaries = adversaries if adversaries else None
        self.eraser = eraser
        #: Set by :meth:`build` / :meth:`from_config`; ``None`` for hand-assembled models
        #: (save those with ``save_model(..., config=...)`` and load them with a builder).
        self.config: ModelConfig | None = None

    @property
    def variant(self) -> Variant:
        """The :class:`~disentangle_fas.contracts.Variant` matching the existing branches."""
        content, domain = self.encoders.content is not None, self.encoders.domain is not None
        if content and domain:
            return Variant.FULL
        if content:
            return Variant.CONTENT
        return Variant.DOMAIN if domain else Variant.BASELINE

    @property
    def input_spec(self) -> InputSpec | None:
        """Input size and normalisation; ``None`` when the size or statistics are unknown."""
        if self.config is not None:
            return InputSpec(self.config.image_size, self.config.mean, self.config.std)
        return input_spec_of(self.image_size, self.normalize)

    @classmethod
    def from_config(
        cls,
        config: ModelConfig,
        *,
        weights: str | Path | Mapping[str, str | Path] | None = None,
        warn_random: bool = True,
    ) -> DisentangledFAS:
        """Build the model described by a :class:`ModelConfig`.

        Args:
            config: the architecture.
            weights: local ImageNet weights file for the backbone (loaded into every
                encoder of that backbone), or a mapping from backbone name to file for
                mixed backbones. Nothing is downloaded.
            warn_random: warn when an encoder is randomly initialised.

        Returns:
            The model (``model.config`` is ``config``), with its input normalisation.
        """
        v = Variant(config.variant)
        names = config.backbones
        files = _weights_per_backbone(weights, set(names.values()))
        uniform = len(set(names.values())) == 1
        loaded = {n: load_state_dict_file(f) for n, f in files.items() if f is not None}
        stem: nn.Module | None = None
        made: dict[str, nn.Module] = {}
        for role, name in names.items():
            enc = create_encoder(name, stem=stem, warn_random=False)
            if config.share_stem and uniform and isinstance(enc, StemmedEncoder) and stem is None:
                stem = enc.stem
            if name in loaded:
                enc.load_torchvision_state_dict(loaded[name])  # type: ignore[operator]
            if config.feature_dim is not None:
                enc = ProjectedEncoder(enc, config.feature_dim)
            made[role] = enc
        missing = sorted({n for n in names.values() if n not in loaded})
        if warn_random and missing:
            import warnings

            warnings.warn(
                f"DisentangledFAS: no ImageNet weights given for {missing}; the encoders are "
                "randomly initialised. Pass weights=<local torchvision state dict file> to "
                "start from ImageNet as the paper does. Nothing is downloaded.",
                stacklevel=2,
            )
        encoders = DisentangledEncoders(
            made["liveness"], made.get("content"), made.get("domain"), stem=stem
        )
        d = encoders.num_features
        content_decoder = None
        if v.uses_content:
            side = _map_size(made["content"], config.image_size)
            content_decoder = ContentDecoder(d, config.content_shape, in_size=side)
        model = cls(
            encoders,
            LMCLHead(d, 2, scale=config.scale, margin=config.margin),
            DomainClassifier(d, config.num_domains, hidden=config.domain_hidden)
            if v.uses_domain
            else None,
            content_decoder,
            normalize=normalize_layer(config.mean, config.std),
            image_size=config.image_size,
            adversaries=build_adversaries(v, d, config.num_domains, config.domain_hidden)
            if config.domain_removal == "adversarial"
            else None,
            eraser=LeaceErasure(d) if config.erase == "leace" else None,
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
        weights: str | Path | Mapping[str, str | Path] | None = None,
        scale: float = DEFAULT_LMCL_SCALE,
        margin: float = DEFAULT_LMCL_MARGIN,
        domain_hidden: int | None = None,
        warn_random: bool = True,
        backbone: str | None = None,
        content_backbone: str | None = None,
        domain_backbone: str | None = None,
        feature_dim: int | None = None,
        share_stem: bool = True,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
    ) -> DisentangledFAS:
        """Assemble the paper's model (or one of its ablations) with default parts.

        Args:
            num_domains: number of source domains S.
            variant: which branches to build.
            depth: ResNet depth of the encoders (when ``backbone`` is ``None``).
            image_size: input side length (sets the content decoder's upsampling depth).
            content_shape: ``(C, H, W)`` of the content target.
            weights: local ImageNet weights for the backbone (see :meth:`from_config`).
            scale: LMCL scale alpha.
            margin: LMCL margin m.
            domain_hidden: hidden width of C_D (``None``: linear).
            warn_random: warn when no ImageNet weights are given.
            backbone: the encoders' backbone, e.g. ``"mobilenet_v3_small"``,
                ``"efficientnet_b0"``, ``"resnet50"``, ``"timm:convnext_atto"``.
            content_backbone: E_C's backbone when it differs.
            domain_backbone: E_D's backbone when it differs.
                (Names only: a module is refused, since one instance cannot be three
                encoders; compose your own with :class:`DisentangledEncoders`.)
            feature_dim: common width the encoders are projected to (needed when the
                backbones' widths differ).
            share_stem: share the stem between the encoders when possible.
            mean: input normalisation mean.
            std: input normalisation standard deviation.

        Returns:
            The model; ``model.config`` describes it (checkpoints rebuild it from that).

        Raises:
            TypeError: a backbone given as a module instead of a name.

        Example:
            >>> m = DisentangledFAS.build(num_domains=3, backbone="mobilenet_v3_small",
            ...                           image_size=64, content_shape=(1, 16, 16),
            ...                           warn_random=False)
            >>> m.live_score(torch.rand(2, 3, 64, 64)).shape
            torch.Size([2])
        """
        given = {"backbone": backbone, "content_backbone": content_backbone,
                 "domain_backbone": domain_backbone}  # fmt: skip
        modules = [k for k, v in given.items() if v is not None and not isinstance(v, str)]
        if modules:
            raise TypeError(
                f"DisentangledFAS.build: {', '.join(modules)} must be a backbone name "
                f"(got {type(given[modules[0]]).__name__}): one module cannot be E_L, E_C and "
                "E_D at once, and a checkpoint names its backbones to rebuild them. With "
                "encoders of your own, build three instances and pass "
                "DisentangledEncoders(liveness, content, domain) to DisentangledFAS(...) "
                "(docs/composing.md)"
            )
        names = {backbone or f"resnet{depth}", content_backbone, domain_backbone} - {None}
        if len(names) > 1 and feature_dim is None:
            widths = {num_features_of(create_encoder(n, warn_random=False)) for n in names if n}
            if len(widths) > 1:
                feature_dim = max(widths)
        config = ModelConfig(
            num_domains=num_domains,
            variant=Variant(variant).value,
            depth=depth,
            image_size=image_size,
            content_shape=content_shape,
            scale=scale,
            margin=margin,
            domain_hidden=domain_hidden,
            backbone=backbone,
            content_backbone=content_backbone,
            domain_backbone=domain_backbone,
            feature_dim=feature_dim,
            share_stem=share_stem,
            mean=mean,
            std=std,
        )
        return cls.from_config(config, weights=weights, warn_random=warn_random)

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

    def liveness_path(self) -> LivenessPath:
        """E_L and C_L behind the input normalisation (the model's own modules), with the
        eraser between them when there is one.
        """
        return LivenessPath(
            self.encoders.liveness, self.liveness_head, self.normalize, embedding=self.eraser
        )

    def live_score(self, images: Tensor) -> Tensor:
        """Return P(live) from E_L and C_L only (the inference path).

        Args:
            images: ``(B, 3, H, W)`` in ``[0, 1]``.

        Returns:
            ``(B,)`` scores in ``[0, 1]``.
        """
        features = self.encoders.liveness(self.normalize(images))
        if self.eraser is not None:
            features = self.eraser(features)
        return self.liveness_head.live_score(features)

    def representations(self, images: Tensor) -> dict[str, Tensor]:
        """Pooled ``(B, d)`` features of every existing encoder (``liveness``, ...);
        ``liveness`` is what C_L reads (erased, when the model has an eraser).
        """
        feats = self(images)
        live = feats.liveness if self.eraser is None else self.eraser(feats.liveness)
        out = {"liveness": pool(live)}
        if feats.content is not None:
            out["content"] = pool(feats.content)
        if feats.domain is not None:
            out["domain"] = pool(feats.domain)
        return out

    def liveness_only(self) -> DisentangledFAS:
        """A ``baseline`` copy holding E_L + C_L with this model's weights.

        Returns ``self`` when the model is already a baseline or has no config.
        """
        if self.variant is Variant.BASELINE or self.config is None:
            return self
        cfg = ModelConfig.from_dict({**self.config.to_dict(), "variant": "baseline"})
        small = DisentangledFAS.from_config(cfg, warn_random=False)
        small.encoders.liveness.load_state_dict(self.encoders.liveness.state_dict())
        small.liveness_head.load_state_dict(self.liveness_head.state_dict())
        if self.eraser is not None and small.eraser is not None:
            small.eraser.load_state_dict(self.eraser.state_dict())
        device = next(self.parameters()).device
        return small.to(device).train(self.training)


def _weights_per_backbone(
    weights: str | Path | Mapping[str, str | Path] | None, names: set[str]
) -> dict[str, str | Path | None]:
    if weights is None:
        return dict.fromkeys(names)
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - names)
        if unknown:
            raise ValueError(
                f"weights given for {unknown}, which no encoder uses ({sorted(names)})"
            )
        return {n: weights.get(n) for n in names}
    if len(names) > 1:
        raise ValueError(
            f"the encoders use several backbones {sorted(names)}: pass weights as a mapping "
            "from backbone name to file"
        )
    return dict.fromkeys(names, weights)


def _map_size(encoder: nn.Module, image_size: int) -> tuple[int, int]:
    """Spatial size of ``encoder``'s output for ``image_size`` inputs (one probe forward)."""
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            out = encoder(torch.zeros(1, 3, image_size, image_size))
    finally:
        encoder.train(was_training)
    if out.ndim != 4:
        raise ValueError(f"the content encoder returned shape {tuple(out.shape)}, not a map")
    return int(out.shape[-2]), int(out.shape[-1])


#: The checkpoint kind; files written before the method folders say "disentangled-fas".
KIND = register_model_kind(
    "disentangle", DisentangledFAS, ModelConfig, aliases=("disentangled-fas",)
)
