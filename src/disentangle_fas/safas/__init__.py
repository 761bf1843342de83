"""Compatibility: this method lives in ``disentangle_fas/methods/safas/``
(:mod:`disentangle_fas.methods.safas`); its names keep importing from here.
"""

from disentangle_fas.methods import safas as _moved
from disentangle_fas.methods.safas import *  # noqa: F403

__all__ = [name for name in _moved.__all__ if name != "BUILDER"]
