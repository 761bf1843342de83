"""SA-FAS, a comparison method: "Rethinking Domain Generalization for Face Anti-spoofing:
Separability and Alignment" (Sun et al., CVPR 2023) with a ResNet-18 trunk, built from
reusable parts.

==============================================  ==========================================
name                                            role
==============================================  ==========================================
DomainLogisticHeads, :func:`per_domain_bce`     one logistic head per source domain
:func:`align_heads`, :func:`align_heads_`       the heads' alignment after each step
:func:`random_views`, :func:`center_crop_resize`  training views; deterministic test crop
SAFAS, SAFASOutput, MeanSigmoidLogits           the assembled model, its inference path
SAFASObjective, SAFASTerms                      ``cls + 0.1 SupCon`` and ``after_step``
SAFASConfig                                     every hyperparameter and its source
==============================================  ==========================================

The contrastive term is :func:`disentangle_fas.losses.supcon_loss`. Labels: 1 = live,
0 = spoof; scores are P(live), the mean of the heads' sigmoids.
"""

from disentangle_fas.safas.align import AlignmentResult, align_heads, align_heads_
from disentangle_fas.safas.config import OFFICIAL_OPTIMIZER, SAFASConfig
from disentangle_fas.safas.heads import DomainLogisticHeads, per_domain_bce
from disentangle_fas.safas.model import SAFAS, MeanSigmoidLogits, SAFASOutput
from disentangle_fas.safas.objective import SAFASObjective, SAFASTerms, supcon_classes
from disentangle_fas.safas.views import CenterCrop, center_crop_resize, random_views

__all__ = [
    "OFFICIAL_OPTIMIZER",
    "SAFAS",
    "AlignmentResult",
    "CenterCrop",
    "DomainLogisticHeads",
    "MeanSigmoidLogits",
    "SAFASConfig",
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
