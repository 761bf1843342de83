"""SSAN-R, a comparison method: "Domain Generalization via Shuffled Style Assembly for Face
Anti-Spoofing" (Wang et al., CVPR 2022) with a ResNet-18 trunk, built from reusable parts.

=============================================  ==========================================
name                                           role
=============================================  ==========================================
:func:`adain`, AdaIN                           adaptive instance normalisation
AdaINResBlock                                  residual AdaIN block (paper or released)
StylePath, :func:`content_block`, Assembly     style and content paths, their assembly
:func:`assembly_contrast_loss`, ...            contrast of self- and cross-assemblies
SSANR, SSANOutput, SelfAssembly, LinearLogits  the assembled model, its inference path
SSANObjective, SSANTerms, :func:`shuffle_styles`  ``cls + contrast + adv``
SSANConfig                                     every hyperparameter and its source
SSANMethod                                     the training adapter (``--method ssan-r``)
=============================================  ==========================================

The domain adversary reuses :func:`disentangle_fas.nn.grad_reverse` and
:class:`disentangle_fas.heads.DomainClassifier`. Labels: 1 = live, 0 = spoof; scores are
P(live).
"""

from disentangle_fas.methods.registry import MethodBuilder, register_method
from disentangle_fas.methods.ssan.adain import AdaIN, AdaINResBlock, adain
from disentangle_fas.methods.ssan.config import OFFICIAL_OPTIMIZER, SSAN_DEPTHS, SSANConfig
from disentangle_fas.methods.ssan.contrast import (
    AssemblyContrastLoss,
    assembly_contrast_loss,
    contrast_signs,
)
from disentangle_fas.methods.ssan.method import SSANMethod, configure
from disentangle_fas.methods.ssan.model import SSANR, LinearLogits, SelfAssembly, SSANOutput
from disentangle_fas.methods.ssan.objective import SSANObjective, SSANTerms, shuffle_styles
from disentangle_fas.methods.ssan.paths import Assembly, StylePath, content_block

__all__ = [
    "BUILDER",
    "OFFICIAL_OPTIMIZER",
    "SSANR",
    "SSAN_DEPTHS",
    "AdaIN",
    "AdaINResBlock",
    "Assembly",
    "AssemblyContrastLoss",
    "LinearLogits",
    "SSANConfig",
    "SSANMethod",
    "SSANObjective",
    "SSANOutput",
    "SSANTerms",
    "SelfAssembly",
    "StylePath",
    "adain",
    "assembly_contrast_loss",
    "content_block",
    "contrast_signs",
    "shuffle_styles",
]

#: ``--method ssan-r``: its settings are :class:`SSANConfig`'s fields.
BUILDER = register_method(
    "ssan-r",
    MethodBuilder(
        SSANMethod,
        config_cls=SSANConfig,
        configure=configure,
        summary="SSAN-R (Wang et al., CVPR 2022): shuffled style assembly",
    ),
)
