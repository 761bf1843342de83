"""Content targets Φ for the content decoder: frozen teachers and per-sample targets.

* :class:`ContentTarget` -- protocol of image-based targets, ``target(images)``.
* :class:`TargetProvider` -- protocol of what the training loop calls,
  ``provider(images, indices)``; :func:`as_provider` / :class:`ImageTargetProvider` adapt
  image-based targets.
* :class:`PRNet`, :func:`load_prnet`, :class:`PRNetTarget` -- the paper's PRNet teacher
  (weights from a local file only); :func:`convert_prnet_checkpoint` converts the official
  TensorFlow checkpoint without TensorFlow (:class:`TensorBundle` reads it);
  :func:`prnet_recrop` applies PRNet's input convention.
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
from disentangle_fas.targets.prnet_target import PRNetTarget, load_face_ind, prnet_recrop
from disentangle_fas.targets.prnet_tf import convert_prnet_checkpoint, read_prnet_checkpoint
from disentangle_fas.targets.tf_bundle import TensorBundle

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
    "TensorBundle",
    "as_provider",
    "convert_prnet_checkpoint",
    "convert_pytorchcv_state_dict",
    "freeze_module",
    "landmark_heatmaps",
    "load_face_ind",
    "load_prnet",
    "make_fingerprint",
    "prnet_recrop",
    "read_prnet_checkpoint",
    "save_prnet",
]
