"""Compatibility: the paper's model now lives in :mod:`disentangle_fas.methods.disentangle`
(``methods/disentangle/model.py``); these names keep importing from here.
"""

from disentangle_fas.contracts import IMAGENET_MEAN, IMAGENET_STD
from disentangle_fas.methods.disentangle import DisentangledFAS, ModelConfig, normalize_layer

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "DisentangledFAS", "ModelConfig", "normalize_layer"]
