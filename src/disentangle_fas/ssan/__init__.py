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
=============================================  ==========================================

The domain adversary reuses :func:`disentangle_fas.ssdg.grad_reverse` and
:class:`disentangle_fas.heads.DomainClassifier`. Labels: 1 = live, 0 = spoof; scores are
P(live).
"""

from disentangle_fas.ssan.adain import AdaIN, AdaINResBlock, adain
from disentangle_fas.ssan.config import OFFICIAL_OPTIMIZER, SSAN_DEPTHS, SSANConfig
from disentangle_fas.ssan.contrast import (
    AssemblyContrastLoss,
    assembly_contrast_loss,
    contrast_signs,
)
from disentangle_fas.ssan.model import SSANR, LinearLogits, SelfAssembly, SSANOutput
from disentangle_fas.ssan.objective import SSANObjective, SSANTerms, shuffle_styles
from disentangle_fas.ssan.paths import Assembly, StylePath, content_block

__all__ = [
    "OFFICIAL_OPTIMIZER",
    "SSANR",
    "SSAN_DEPTHS",
    "AdaIN",
    "AdaINResBlock",
    "Assembly",
    "AssemblyContrastLoss",
    "LinearLogits",
    "SSANConfig",
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
