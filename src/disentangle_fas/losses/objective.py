"""Compatibility: the paper's objective lives in its method folder,
``methods/disentangle/objective.py``; these names keep importing from here.
"""

from disentangle_fas.methods.disentangle import objective as _moved
from disentangle_fas.methods.disentangle.objective import *  # noqa: F403

__all__ = list(_moved.__all__)
