"""Compatibility: this method lives in ``disentangle_fas/methods/ssan/``
(:mod:`disentangle_fas.methods.ssan`); its names keep importing from here.
"""

from disentangle_fas.methods.ssan import (
    OFFICIAL_OPTIMIZER,
    SSAN_DEPTHS,
    SSANR,
    AdaIN,
    AdaINResBlock,
    Assembly,
    AssemblyContrastLoss,
    LinearLogits,
    SelfAssembly,
    SSANConfig,
    SSANMethod,
    SSANObjective,
    SSANOutput,
    SSANTerms,
    StylePath,
    adain,
    assembly_contrast_loss,
    content_block,
    contrast_signs,
    shuffle_styles,
)

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
