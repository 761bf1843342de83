"""Every GAC-FAS hyperparameter with its default and its source, in one frozen dataclass.

Sources: "official" is github.com/Leminhbinh0209/CVPR24-FAS (``configs/*.yaml``,
``models/resnet.py``, ``optimizers/gacfas.py``, ``helpers/loops.py``,
``dataloaders/utils.py``); "paper" is Le and Woo, "Gradient Alignment for Cross-Domain Face
Anti-Spoofing", CVPR 2024. Where the four official configs differ, the value of
``OCI2M.yaml`` is used and the others are named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disentangle_fas.encoders import ENCODER_DEPTHS
from disentangle_fas.losses.supcon import DEFAULT_BASE_TEMPERATURE, DEFAULT_TEMPERATURE
from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics

__all__ = ["OFFICIAL_OPTIMIZER", "GACFASConfig"]

#: The official optimisation (``train.py``, ``configs/OCI2M.yaml``), for reference: the
#: harness trains every method with its own optimizer and schedule so that methods are
#: compared alike.
OFFICIAL_OPTIMIZER: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.005,
    "fc_lr_scale": 10,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "batch_size": 96,
    "epochs": 20,
    "step_lr": {"step_size_epochs": 5, "gamma": 0.5},
    "warm_up": "epoch 0 trains the classifier only",
    "image_size": 256,
    "note": "OMI2C: lr 0.01, weight decay 5e-4, 80 epochs; ICM2O: 150 epochs, step 40; "
    "OCM2I: 50 epochs, step 40",
}


@dataclass(frozen=True)
class GACFASConfig(DictConfig):
    """Everything needed to rebuild a :class:`~disentangle_fas.methods.gac_fas.GACFAS` and
    its training step.

    Attributes:
        num_domains: number of source domains K, one ascent point each (official: 3).
        depth: ResNet depth (official ``Resnet18``: 18).
        logit_scale: the cosine logit's scale before the sigmoid (official ``logit_scale
            12`` with ``loss_func bce``; OMI2C's ``ce`` with scale 32 cannot run with the
            one-output head it configures).
        supcon_weight: weight of the supervised contrastive loss on the two views'
            normalised features (official ``lambda_constrast 0.2``; OCM2I: 0.1).
        temperature: SupCon temperature (official ``temperature=0.1`` in ``loops.py``).
        base_temperature: SupCon base temperature (official: 0.07, ``losses/__init__.py``).
        rho: the radius of each domain's ascent (official ``GAC.rho 0.1``).
        alpha: the step against the ERM gradient in every ascent,
            ``eps_k = rho T^2 g_k / ||T g_k|| - alpha g`` (official ``GAC.alpha 0.0002``).
        eta: the offset of the adaptive scale ``T = |w| + eta`` (official ``GAC.eta 0.0``,
            ICM2O; the other configs omit it).
        adaptive: scale the ascent by ``T`` on weight tensors, as ASAM does (official
            ``optimizers/gacfas.py``); ``False``: ``T = 1`` (SAM's ascent per domain).
        ascent_start: training progress before which steps are plain ERM (official
            ``minimizer_warming 2`` of 20 epochs, OCI2M; 10 of 150 / 50 and 2 of 80
            elsewhere).
        released: train as the released code runs: ``helpers/loops.py`` enters the GAC
            branch only for ``minimizer == 'gacfas'`` while every config sets
            ``'gac-fas'``, so no ascent is ever taken and the step is plain ERM on the
            per-domain BCE and SupCon (docs/methods.md, "GAC-FAS").
        rotation_degrees: training views are rotated by U(-r, r) degrees (official
            ``RandomRotation((-180, 180))``).
        crop_scale_min: training views crop U(min, 1) of the image area (official
            ``RandomResizedCrop(scale=(0.08, 1))``; the crop here is square, the official
            one has aspect ratios in [3/4, 4/3]).
        hflip: training views are flipped with probability 1/2 (official).
        cutout: probability that a view gets one box, of a Beta(1, 1)-drawn area fraction,
            replaced by its mean (official ``RandomCutout(1, 0.5)``).
        image_size: input side the model was trained at (stored for inference; optional).
        backbone: the trunk (any name of :func:`~disentangle_fas.encoders.create_encoder`);
            ``None`` is ``resnet<depth>`` (official: ResNet-18).
    """

    num_domains: int
    depth: int = 18
    logit_scale: float = 12.0
    supcon_weight: float = 0.2
    temperature: float = DEFAULT_TEMPERATURE
    base_temperature: float = DEFAULT_BASE_TEMPERATURE
    rho: float = 0.1
    alpha: float = 0.0002
    eta: float = 0.0
    adaptive: bool = True
    ascent_start: float = 0.1
    released: bool = False
    rotation_degrees: float = 180.0
    crop_scale_min: float = 0.08
    hflip: bool = True
    cutout: float = 0.5
    image_size: int | None = None
    backbone: str | None = None

    def __post_init__(self) -> None:
        check_method_basics(self.num_domains, self.depth, ENCODER_DEPTHS)
        check_finite(self, ("logit_scale", "temperature", "base_temperature"), positive=True)
        check_finite(self, ("supcon_weight", "rho", "alpha", "eta"), positive=False)
        for name in ("ascent_start", "cutout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if not 0.0 <= self.rotation_degrees <= 180.0:
            raise ValueError(f"rotation_degrees must lie in [0, 180], got {self.rotation_degrees}")
        if not 0.0 < self.crop_scale_min <= 1.0:
            raise ValueError(f"crop_scale_min must lie in (0, 1], got {self.crop_scale_min}")
        if self.image_size is not None and self.image_size < 8:
            raise ValueError(f"image_size must be >= 8 or None, got {self.image_size}")
