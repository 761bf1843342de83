"""Compatibility: the compared methods' model base lives in ``methods/common/model.py``."""

from disentangle_fas.methods.common.model import MethodConfigLike, MethodModel, check_in_features

__all__ = ["MethodConfigLike", "MethodModel", "check_in_features"]
