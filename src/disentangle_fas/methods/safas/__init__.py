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
SAFASMethod                                     the training adapter (``--method sa-fas``)
==============================================  ==========================================

The contrastive term is :func:`disentangle_fas.losses.supcon_loss`. Labels: 1 = live,
0 = spoof; scores are P(live), the mean of the heads' sigmoids.
"""

from disentangle_fas.methods.registry import MethodBuilder, register_method
from disentangle_fas.methods.safas.align import AlignmentResult, align_heads, align_heads_
from disentangle_fas.methods.safas.config import OFFICIAL_OPTIMIZER, SAFASConfig
from disentangle_fas.methods.safas.heads import DomainLogisticHeads, per_domain_bce
from disentangle_fas.methods.safas.method import SAFASMethod, configure
from disentangle_fas.methods.safas.model import SAFAS, MeanSigmoidLogits, SAFASOutput
from disentangle_fas.methods.safas.objective import SAFASObjective, SAFASTerms, supcon_classes
from disentangle_fas.methods.safas.views import CenterCrop, center_crop_resize, random_views

__all__ = [
    "BUILDER",
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

#: ``--method sa-fas``: its settings are :class:`SAFASConfig`'s fields.
BUILDER = register_method(
    "sa-fas",
    MethodBuilder(
        SAFASMethod,
        config_cls=SAFASConfig,
        configure=configure,
        summary="SA-FAS (Sun et al., CVPR 2023): separability and alignment",
    ),
)
