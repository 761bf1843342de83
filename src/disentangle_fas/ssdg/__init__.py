"""SSDG-R, a comparison method: "Single-Side Domain Generalization for Face Anti-Spoofing"
(Jia et al., CVPR 2020) with a ResNet backbone, built from reusable parts.

=========================================  ===============================================
name                                       role
=========================================  ===============================================
:func:`grad_reverse`, GradientReversal     gradient reversal layer (identity, ``-coeff``)
:func:`grl_schedule`                       ``2 / (1 + exp(-gamma p)) - 1``
SingleSideDiscriminator                    domain discriminator on REAL faces only
:func:`asymmetric_triplet_loss`            reals one class, fakes one class per domain
Embedding                                  the official bottleneck (Linear, ReLU, Dropout)
SSDGR, SSDGOutput                          the assembled model
SSDGObjective, SSDGTerms                   ``cls + lambda_adv adv + lambda_trip trip``
SSDGConfig                                 every hyperparameter and its default
=========================================  ===============================================

The classifier is :class:`disentangle_fas.heads.LMCLHead` with margin 0 (a cosine
classifier with a scale). Labels: 1 = live, 0 = spoof; scores are P(live).
"""

from disentangle_fas.ssdg.config import OFFICIAL_LOSS_WEIGHTS, SSDGConfig
from disentangle_fas.ssdg.discriminator import (
    DiscriminatorOutput,
    SingleSideDiscriminator,
    select_real,
    single_side_domain_loss,
)
from disentangle_fas.ssdg.embedding import Embedding
from disentangle_fas.ssdg.grl import GradientReversal, grad_reverse, grl_schedule
from disentangle_fas.ssdg.model import SSDGR, SSDGOutput
from disentangle_fas.ssdg.objective import SSDGObjective, SSDGTerms
from disentangle_fas.ssdg.triplet import (
    AsymmetricTripletLoss,
    asymmetric_classes,
    asymmetric_triplet_loss,
    batch_all_triplet_loss,
    pairwise_distances,
)

__all__ = [
    "OFFICIAL_LOSS_WEIGHTS",
    "SSDGR",
    "AsymmetricTripletLoss",
    "DiscriminatorOutput",
    "Embedding",
    "GradientReversal",
    "SSDGConfig",
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
