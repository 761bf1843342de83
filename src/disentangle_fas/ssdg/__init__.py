"""Compatibility: this method lives in ``disentangle_fas/methods/ssdg/``
(:mod:`disentangle_fas.methods.ssdg`); its names keep importing from here.
"""

from disentangle_fas.methods import ssdg as _moved
from disentangle_fas.methods.ssdg import *  # noqa: F403

__all__ = [name for name in _moved.__all__ if name != "BUILDER"]
