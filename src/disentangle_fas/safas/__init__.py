"""Compatibility: this method lives in ``disentangle_fas/methods/safas/``
(:mod:`disentangle_fas.methods.safas`); its names keep importing from here.
"""

from disentangle_fas.methods.safas import (
    OFFICIAL_OPTIMIZER,
    SAFAS,
    AlignmentResult,
    CenterCrop,
    DomainLogisticHeads,
    MeanSigmoidLogits,
    SAFASConfig,
    SAFASMethod,
    SAFASObjective,
    SAFASOutput,
    SAFASTerms,
    align_heads,
    align_heads_,
    center_crop_resize,
    per_domain_bce,
    random_views,
    supcon_classes,
)

__all__ = [
    "OFFICIAL_OPTIMIZER",
    "SAFAS",
    "AlignmentResult",
    "CenterCrop",
    "DomainLogisticHeads",
    "MeanSigmoidLogits",
    "SAFASConfig",
    "SAFASMethod",
    "SAFASObjective",
    "SAFASOutput",
    "SAFASTerms",
    "align_heads",
    "align_heads_",
    "center_crop_resize",
    "per_domain_bce",
    "random_views",
    "supcon_classes",
]
