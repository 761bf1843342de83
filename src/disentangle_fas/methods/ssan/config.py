"""Every SSAN-R hyperparameter with its default and its source, in one frozen dataclass.

Sources: "official" is github.com/wangzhuo2019/SSAN (``networks/SSAN_R.py``,
``networks/pub_mod.py``, ``solver.py``, ``configs/__init__.py``); "paper" is Wang et al.,
"Domain Generalization via Shuffled Style Assembly for Face Anti-Spoofing", CVPR 2022.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics
from disentangle_fas.methods.ssan.adain import DEFAULT_ADAIN_EPS

__all__ = [
    "DEFAULT_GRL_GAMMA",
    "DEFAULT_LAMBDA_ADV",
    "DEFAULT_LAMBDA_CONTRAST",
    "OFFICIAL_OPTIMIZER",
    "SSAN_DEPTHS",
    "SSANConfig",
]

#: ResNet depths with the 64/128/256-channel layers 1-3 that SSAN-R's style path expects.
SSAN_DEPTHS = (10, 18, 34)
#: Weight of the contrastive loss: official ``loss_all = binary_loss + constra_loss +
#: adv_loss`` (``solver.py``), i.e. 1.
DEFAULT_LAMBDA_CONTRAST = 1.0
#: Weight of the domain adversarial loss: 1, as above.
DEFAULT_LAMBDA_ADV = 1.0
#: GRL schedule steepness: official ``GRL.alpha = 10`` (``networks/pub_mod.py``).
DEFAULT_GRL_GAMMA = 10.0

#: The official optimisation (``configs/__init__.py``), for reference: the harness trains
#: every method with its own optimizer and schedule so that methods are compared alike.
OFFICIAL_OPTIMIZER: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-4,
    "weight_decay": 5e-5,
    "batch_size": 16,
    "step_lr": {"step_size_epochs": 500, "gamma": 0.5},
    "image_size": 256,
}


@dataclass(frozen=True)
class SSANConfig(DictConfig):
    """Everything needed to rebuild an :class:`~disentangle_fas.ssan.SSANR` and its objective.

    Attributes:
        num_domains: number of source domains S (official: 3).
        depth: ResNet depth of the trunk, one of :data:`SSAN_DEPTHS` (official: 18).
        num_adain_blocks: residual AdaIN blocks of the assembly (official ``ada_num=2``;
            paper: two).
        adain_eps: AdaIN epsilon (official: 1e-5).
        adain_unbiased: AdaIN uses the unbiased variance (official ``torch.var``: True).
        released_adain_block: reproduce the released ``ResnetAdaINBlock``, which computes
            ``x + AdaIN(x)`` and never uses its convolutions (SSAN issue 17). Default
            False: ``x + AdaIN(conv(ReLU(AdaIN(conv(x)))))``, as the paper describes.
        assembly_stride: stride of the two convolutions that take layer3's resolution
            (H/16) to the assembly's: the content path's strided conv and the style path's
            last conv. Official: 2, so 256-px inputs assemble 8x8 maps. Instance statistics
            need at least 2 positions, so inputs below 64 px need 1 (maps of H/16).
        disc_hidden: hidden width of the domain discriminator (official: 256).
        disc_dropout: its dropout (official: 0.5).
        lambda_contrast: weight of the contrastive loss (official: 1).
        lambda_adv: weight of the domain adversarial loss (official: 1).
        grl_gamma: steepness of the GRL warm-up ``2/(1+exp(-gamma p)) - 1`` (official: 10).
        released_grl: reproduce the released GRL, an ``nn.Module`` whose ``backward``
            autograd never calls: the domain loss's gradient then reaches the content path
            unreversed, so the content features learn to *reveal* the domain (SSAN issue
            18). Default False: a working gradient reversal, as the paper describes.
        image_size: input side the model was trained at (stored for inference; optional).
    """

    num_domains: int
    depth: int = 18
    num_adain_blocks: int = 2
    adain_eps: float = DEFAULT_ADAIN_EPS
    adain_unbiased: bool = True
    released_adain_block: bool = False
    assembly_stride: int = 2
    disc_hidden: int = 256
    disc_dropout: float = 0.5
    lambda_contrast: float = DEFAULT_LAMBDA_CONTRAST
    lambda_adv: float = DEFAULT_LAMBDA_ADV
    grl_gamma: float = DEFAULT_GRL_GAMMA
    released_grl: bool = False
    image_size: int | None = None

    def __post_init__(self) -> None:
        check_method_basics(self.num_domains, self.depth, SSAN_DEPTHS)
        if self.num_adain_blocks < 1:
            raise ValueError(f"num_adain_blocks must be >= 1, got {self.num_adain_blocks}")
        if self.disc_hidden <= 0:
            raise ValueError(f"disc_hidden must be positive, got {self.disc_hidden}")
        if not 0.0 <= self.disc_dropout < 1.0:
            raise ValueError(f"disc_dropout must lie in [0, 1), got {self.disc_dropout}")
        check_finite(self, ("lambda_contrast", "lambda_adv"), positive=False)
        check_finite(self, ("adain_eps", "grl_gamma"), positive=True)
        if self.assembly_stride not in (1, 2):
            raise ValueError(f"assembly_stride must be 1 or 2, got {self.assembly_stride}")
        if self.image_size is not None and self.image_size < 32 * self.assembly_stride:
            raise ValueError(
                f"image_size must be >= {32 * self.assembly_stride} with assembly_stride "
                f"{self.assembly_stride} (or None), got {self.image_size}"
            )

    @classmethod
    def released(cls, num_domains: int = 3, **overrides: Any) -> SSANConfig:
        """Config reproducing the released code's behaviour (both deviations on).

        Args:
            num_domains: number of source domains.
            **overrides: other fields to set.

        Returns:
            The config with ``released_grl`` and ``released_adain_block`` True.
        """
        fields: dict[str, Any] = {
            "released_grl": True,
            "released_adain_block": True,
            **overrides,
        }
        return cls(num_domains=num_domains, **fields)
