"""Compatibility: this method lives in ``disentangle_fas/methods/ssdg/``
(:mod:`disentangle_fas.methods.ssdg`); its names keep importing from here.
"""

from disentangle_fas.methods.ssdg import (
    OFFICIAL_LOSS_WEIGHTS,
    SSDGR,
    AsymmetricTripletLoss,
    DiscriminatorOutput,
    Embedding,
    GradientReversal,
    SingleSideDiscriminator,
    SSDGConfig,
    SSDGMethod,
    SSDGObjective,
    SSDGOutput,
    SSDGTerms,
    asymmetric_classes,
    asymmetric_triplet_loss,
    batch_all_triplet_loss,
    grad_reverse,
    grl_schedule,
    pairwise_distances,
    select_real,
    single_side_domain_loss,
)

__all__ = [
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
