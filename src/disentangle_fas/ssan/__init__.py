"""Compatibility: this method lives in ``disentangle_fas/methods/ssan/``
(:mod:`disentangle_fas.methods.ssan`); its names keep importing from here.
"""

from disentangle_fas.methods import ssan as _moved
from disentangle_fas.methods.ssan import *  # noqa: F403

__all__ = [name for name in _moved.__all__ if name != "BUILDER"]
