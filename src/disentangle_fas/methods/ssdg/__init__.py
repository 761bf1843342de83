"""SSDG-R, a comparison method: "Single-Side Domain Generalization for Face Anti-Spoofing"
(Jia et al., CVPR 2020) with a ResNet backbone, built from reusable parts.

=========================================  ===============================================
name                                       role
=========================================  ===============================================
:func:`grad_reverse`, GradientReversal     gradient reversal (from :mod:`disentangle_fas.nn`)
:func:`grl_schedule`                       ``2 / (1 + exp(-gamma p)) - 1``
SingleSideDiscriminator                    domain discriminator on REAL faces only
:func:`asymmetric_triplet_loss`            reals one class, fakes one class per domain
Embedding                                  the official bottleneck (Linear, ReLU, Dropout)
SSDGR, SSDGOutput                          the assembled model
SSDGObjective, SSDGTerms                   ``cls + lambda_adv adv + lambda_trip trip``
SSDGConfig                                 every hyperparameter and its default
SSDGMethod                                 the training adapter (``--method ssdg-r``)
=========================================  ===============================================

The classifier is :class:`disentangle_fas.heads.LMCLHead` with margin 0 (a cosine
classifier with a scale). Labels: 1 = live, 0 = spoof; scores are P(live).
"""

from disentangle_fas.methods.registry import MethodBuilder, register_method
from disentangle_fas.methods.ssdg.config import OFFICIAL_LOSS_WEIGHTS, SSDGConfig
from disentangle_fas.methods.ssdg.discriminator import (
    DiscriminatorOutput,
    SingleSideDiscriminator,
    select_real,
    single_side_domain_loss,
)
from disentangle_fas.methods.ssdg.embedding import Embedding
from disentangle_fas.methods.ssdg.method import SSDGMethod, configure
from disentangle_fas.methods.ssdg.model import SSDGR, SSDGOutput
from disentangle_fas.methods.ssdg.objective import SSDGObjective, SSDGTerms
from disentangle_fas.methods.ssdg.triplet import (
    AsymmetricTripletLoss,
    asymmetric_classes,
    asymmetric_triplet_loss,
    batch_all_triplet_loss,
    pairwise_distances,
)
from disentangle_fas.nn import GradientReversal, grad_reverse, grl_schedule

__all__ = [
    "BUILDER",
    "OFFICIAL_LOSS_WEIGHTS",
    "SSDGR",
    "AsymmetricTripletLoss",
    "DiscriminatorOutput",
    "Embedding",
    "GradientReversal",
    "SSDGConfig",
    "SSDGMethod",
    "SSDGObjective",
    "SSDGOutput",
    "SSDGTerms",
    "SingleSideDiscriminator",
    "asymmetric_classes",
    "asymmetric_triplet_loss",
    "batch_all_triplet_loss",
    "grad_reverse",
    "grl_schedule",
    "pairwise_distances",
    "select_real",
    "single_side_domain_loss",
]

#: ``--method ssdg-r``: its settings are :class:`SSDGConfig`'s fields.
BUILDER = register_method(
    "ssdg-r",
    MethodBuilder(
        SSDGMethod,
        config_cls=SSDGConfig,
        configure=configure,
        summary="SSDG-R (Jia et al., CVPR 2020): single-side adversarial + asymmetric triplet",
    ),
)
