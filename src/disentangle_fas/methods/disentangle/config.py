"""The configuration of :class:`~disentangle_fas.methods.disentangle.DisentangledFAS`
(stored in checkpoints): every setting of the paper's method and its default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from disentangle_fas.contracts import IMAGENET_MEAN, IMAGENET_STD, InputSpec, Variant
from disentangle_fas.heads import DEFAULT_LMCL_MARGIN, DEFAULT_LMCL_SCALE, check_lmcl
from disentangle_fas.methods.common.config import check_finite
from disentangle_fas.methods.common.inputs import (
    input_spec_of,
    normalization_stats,
    normalize_layer,
)

__all__ = ["ModelConfig", "input_spec_of", "normalization_stats", "normalize_layer"]

#: The config fields that weight the objective's terms, in :class:`LossWeights` order.
LOSS_WEIGHT_FIELDS = ("w_dom", "w_cont", "w_cont_cnf", "w_dom_cnf", "w_live_cnf")
#: Weight of every auxiliary term of the total loss. The paper gives none: 1 (ours).
DEFAULT_LOSS_WEIGHT = 1.0
#: Steepness of the gradient-reversal warm-up of ``domain_removal="adversarial"`` (DANN's 10).
DEFAULT_GRL_GAMMA = 10.0
#: The values of ``domain_removal`` (:mod:`~disentangle_fas.methods.disentangle.removal`).
Removal = Literal["frozen", "adversarial", "hsic", "orthogonal"]
REMOVALS: tuple[str, ...] = get_args(Removal)
#: The values of ``erase``.
Erasure = Literal["none", "leace"]
ERASURES: tuple[str, ...] = get_args(Erasure)


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a :class:`DisentangledFAS` (stored in checkpoints).

    Sources: "paper" is the paper (section 2); "ours" marks what it leaves open
    (docs/methods.md explains each choice).

    Attributes:
        num_domains: number of source domains S (from the task).
        variant: ``"baseline"``, ``"content"``, ``"domain"`` or ``"full"`` (Table 3; paper:
            full).
        depth: ResNet depth of the encoders when ``backbone`` is ``None``.
        image_size: input side length.
        content_shape: ``(C, H, W)`` of the content target.
        scale: LMCL scale alpha (ours: 16; the paper gives none).
        margin: LMCL margin m (CosFace's recommended 0.35; the paper gives none).
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
        mean: input normalisation mean (RGB; ImageNet's, ours).
        std: input normalisation standard deviation (RGB; ImageNet's, ours).
        w_dom: weight of L_dom, eq. (3) (ours: 1; the paper gives no weights).
        w_cont: weight of L_cont, eq. (1) (ours: 1).
        w_cont_cnf: weight of L_cont^cnf, eq. (2) (ours: 1).
        w_dom_cnf: weight of L_dom^cnf, eq. (4) (ours: 1).
        w_live_cnf: weight of L_live^cnf, eq. (6) (ours: 1).
        domain_removal: how the removal terms keep the domain out of f_L, the liveness
            out of f_D and both out of f_C: ``frozen`` (the paper: confusion through the
            other branch's frozen classifier), ``adversarial`` (DANN: an adversary per
            term through gradient reversal), ``hsic`` (normalised HSIC against the labels
            and the other representation), ``orthogonal`` (DSN's difference loss); the
            ``w_*_cnf`` weights weigh them (docs/methods.md, "Removal mechanisms").
        erase: ``none`` (the paper) or ``leace``: after training, erase the domain from
            f_L with LEACE fitted on source-training features, then refit C_L on the
            erased features; the eraser is part of the saved model (needs the ``erase``
            extra to fit, nothing to score).
        grl_gamma: steepness of the gradient-reversal warm-up of the adversaries (DANN:
            10).
        erase_max_images: source-training images (a seeded sample) the eraser and the
            refit C_L are fitted on (ours: 4096).
        erase_refit_steps: full-batch Adam steps refitting C_L on the erased features,
            from its trained weights (ours: 300).
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
    w_dom: float = DEFAULT_LOSS_WEIGHT
    w_cont: float = DEFAULT_LOSS_WEIGHT
    w_cont_cnf: float = DEFAULT_LOSS_WEIGHT
    w_dom_cnf: float = DEFAULT_LOSS_WEIGHT
    w_live_cnf: float = DEFAULT_LOSS_WEIGHT
    domain_removal: Removal = "frozen"
    erase: Erasure = "none"
    grl_gamma: float = DEFAULT_GRL_GAMMA
    erase_max_images: int = 4096
    erase_refit_steps: int = 300

    def __post_init__(self) -> None:
        if self.variant not in {v.value for v in Variant}:
            raise ValueError(
                f"variant must be one of {', '.join(v.value for v in Variant)}, "
                f"got {self.variant!r}"
            )
        for name, allowed in (("domain_removal", REMOVALS), ("erase", ERASURES)):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
        if not (self.grl_gamma > 0 and self.grl_gamma < float("inf")):
            raise ValueError(f"grl_gamma must be a finite number > 0, got {self.grl_gamma}")
        if self.erase_max_images < 2 or self.erase_refit_steps < 0:
            raise ValueError(
                f"erase_max_images must be >= 2 and erase_refit_steps >= 0, got "
                f"{self.erase_max_images} and {self.erase_refit_steps}"
            )
        object.__setattr__(self, "content_shape", tuple(int(v) for v in self.content_shape))
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        if self.feature_dim is not None and self.feature_dim < 1:
            raise ValueError(f"feature_dim must be >= 1, got {self.feature_dim}")
        InputSpec(self.image_size, self.mean, self.std)  # validates
        check_finite(self, LOSS_WEIGHT_FIELDS, positive=False)
        check_lmcl(self.scale, self.margin)  # before any data is built, as the head would

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
