"""Compatibility: the methods' config helpers live in ``methods/common/config.py``."""

from disentangle_fas.methods.common.config import DictConfig, check_finite, check_method_basics

__all__ = ["DictConfig", "check_finite", "check_method_basics"]
