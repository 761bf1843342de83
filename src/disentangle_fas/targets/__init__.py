"""Content targets Φ for the content decoder: frozen teachers and per-sample targets.

* :class:`ContentTarget` -- protocol of image-based targets, ``target(images)``.
* :class:`TargetProvider` -- protocol of what the training loop calls,
  ``provider(images, indices)``; :func:`as_provider` / :class:`ImageTargetProvider` adapt
  image-based targets.
* :class:`PRNet`, :func:`load_prnet`, :class:`PRNetTarget` -- the paper's PRNet teacher
  (weights from a local file only).
* :class:`ModuleTarget` (any frozen network), :class:`LandmarkHeatmapTarget`,
  :class:`PrecomputedTarget` (targets by dataset index).
* :class:`TargetCache` -- runs a teacher once per training image into an fp16 memmap.
"""

from disentangle_fas.targets.base import (
    ContentTarget,
    ImageTargetProvider,
    TargetProvider,
    as_provider,
    freeze_module,
)
from disentangle_fas.targets.cache import CacheKey, TargetCache, make_fingerprint
from disentangle_fas.targets.landmarks import LandmarkHeatmapTarget, landmark_heatmaps
from disentangle_fas.targets.module import ModuleTarget
from disentangle_fas.targets.precomputed import PrecomputedTarget
from disentangle_fas.targets.prnet import POSITION_SCALE, PRNET_NUM_PARAMETERS, PRNet
from disentangle_fas.targets.prnet_io import convert_pytorchcv_state_dict, load_prnet, save_prnet
from disentangle_fas.targets.prnet_target import PRNetTarget

__all__ = [
    "POSITION_SCALE",
    "PRNET_NUM_PARAMETERS",
    "CacheKey",
    "ContentTarget",
    "ImageTargetProvider",
    "LandmarkHeatmapTarget",
    "ModuleTarget",
    "PRNet",
    "PRNetTarget",
    "PrecomputedTarget",
    "TargetCache",
    "TargetProvider",
    "as_provider",
    "convert_pytorchcv_state_dict",
    "freeze_module",
    "landmark_heatmaps",
    "load_prnet",
    "make_fingerprint",
    "save_prnet",
]
