"""Compatibility: :class:`ModelConfig` lives in ``methods/disentangle/config.py`` and the input
normalisation in ``methods/common/inputs.py``; these names keep importing from here.
"""

from disentangle_fas.methods.common.inputs import (
    input_spec_of,
    normalization_stats,
    normalize_layer,
)
from disentangle_fas.methods.disentangle.config import ModelConfig

__all__ = ["ModelConfig", "input_spec_of", "normalization_stats", "normalize_layer"]
