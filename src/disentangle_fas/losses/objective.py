"""Compatibility: the paper's objective lives in its method folder,
``methods/disentangle/objective.py``; these names keep importing from here.
"""

from disentangle_fas.methods.disentangle.objective import (
    DisentangledFeatures,
    DisentanglementObjective,
    LossWeights,
    ObjectiveTerms,
    Variant,
)

__all__ = [
    "DisentangledFeatures",
    "DisentanglementObjective",
    "LossWeights",
    "ObjectiveTerms",
    "Variant",
]
