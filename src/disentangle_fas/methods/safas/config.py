"""Every SA-FAS hyperparameter with its default and its source, in one frozen dataclass.

Sources: "official" is github.com/sunyiyou/SAFAS (``train.py`` argument defaults,
``networks/resnet_lgt.py``, ``loss/__init__.py``); "paper" is Sun et al., "Rethinking Domain
Generalization for Face Anti-spoofing: Separability and Alignment", CVPR 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disentangle_fas.encoders import ENCODER_DEPTHS
from disentangle_fas.losses.supcon import DEFAULT_BASE_TEMPERATURE, DEFAULT_TEMPERATURE
from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics

__all__ = ["OFFICIAL_OPTIMIZER", "SAFASConfig"]

#: The official optimisation (``train.py``), for reference: the harness trains every method
#: with its own optimizer and schedule so that methods are compared alike.
OFFICIAL_OPTIMIZER: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": 0.005,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "batch_size": 96,
    "epochs": 100,
    "step_lr": {"step_size_epochs": 40, "gamma": 0.5},
    "image_size": 256,
    "note": "epochs and step size x3 for the I&C&M->O protocol, align_epoch unchanged",
}


@dataclass(frozen=True)
class SAFASConfig(DictConfig):
    """Everything needed to rebuild an :class:`~disentangle_fas.safas.SAFAS` and its objective.

    Attributes:
        num_domains: number of source domains S, one logistic head each (official: 3).
        depth: ResNet depth (official ``ResNet18_lgt``: 18).
        logit_scale: fixed scale of the heads' logits (official ``--scale 1``).
        supcon_weight: weight of the supervised contrastive loss (official
            ``--feat_loss_weight 0.1``).
        temperature: SupCon temperature tau (official ``--temperature 0.1``).
        base_temperature: SupCon base temperature tau_b (official: 0.07, fixed in
            ``loss/__init__.py``).
        align_alpha: the alignment's step, ``w <- |w| normalize(alpha b + (1-alpha) b')``
            (official ``--alpha 0.995``).
        align_start: training progress from which the alignment runs after each optimizer
            step: official ``--align_epoch 20`` of ``--num_epochs 100``, so 0.2 (for
            I&C&M->O the official code trains 300 epochs and still starts at epoch 20).
        align: run the alignment at all (official ``--align v4``: True).
        rotation_degrees: training views are rotated by U(-r, r) degrees (official
            ``RandomRotation((-180, 180))``).
        crop_scale_min: training views crop U(min, 1) of the image area, square (official
            ``RandomResizedCrop(scale=(0.2, 1), ratio=(1, 1))``).
        hflip: training views are flipped with probability 1/2 (official).
        test_crop_area: evaluation crops the centred square of this area fraction and
            resizes it back. The official test transform is
            ``RandomResizedCrop(scale=(0.9, 0.9), ratio=(1, 1))``, a crop of that area at
            a *random* position, so its evaluation is not deterministic; this crop is
            centred.
        image_size: input side the model was trained at (stored for inference; optional).
        backbone: the trunk (any name of :func:`~disentangle_fas.encoders.create_encoder`);
            ``None`` is ``resnet<depth>`` (official: ResNet-18).
    """

    num_domains: int
    depth: int = 18
    logit_scale: float = 1.0
    supcon_weight: float = 0.1
    temperature: float = DEFAULT_TEMPERATURE
    base_temperature: float = DEFAULT_BASE_TEMPERATURE
    align_alpha: float = 0.995
    align_start: float = 0.2
    align: bool = True
    rotation_degrees: float = 180.0
    crop_scale_min: float = 0.2
    hflip: bool = True
    test_crop_area: float = 0.9
    image_size: int | None = None
    backbone: str | None = None

    def __post_init__(self) -> None:
        check_method_basics(self.num_domains, self.depth, ENCODER_DEPTHS)
        check_finite(self, ("logit_scale", "temperature", "base_temperature"), positive=True)
        check_finite(self, ("supcon_weight",), positive=False)
        for name in ("align_alpha", "align_start"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        if not 0.0 <= self.rotation_degrees <= 180.0:
            raise ValueError(f"rotation_degrees must lie in [0, 180], got {self.rotation_degrees}")
        for name in ("crop_scale_min", "test_crop_area"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must lie in (0, 1], got {value}")
        if self.image_size is not None and self.image_size < 8:
            raise ValueError(f"image_size must be >= 8 or None, got {self.image_size}")
