"""Data: dataset adapters, preprocessing, the training store, samplers and protocols.

* Adapters (:class:`OuluNPU`, :class:`CasiaFASD`, :class:`ReplayAttack`,
  :class:`MsuMfsd`, :class:`CelebASpoof`, :class:`ListAdapter`) list a local copy of a
  dataset as :class:`Record` objects, reading names and annotation files only.
* :mod:`disentangle_fas.data.preprocess` (``disentangle-fas preprocess``) turns records into
  256x256 face crops and a JSONL manifest; :mod:`disentangle_fas.data.store`
  (``disentangle-fas pack``) packs crops into memory-mapped arrays.
* :class:`ImageFolderDataset` and :class:`StoreDataset` return
  :class:`~disentangle_fas.types.FASSample`; :class:`DomainBalancedBatchSampler` makes
  balanced batches; :class:`Protocol` / :func:`leave_one_out` say which domains, splits and
  attacks train and test.

Attack ids are dataset specific (0 is always live); each adapter's ``ATTACKS`` table maps
them to names (see ``docs/datasets.md``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from disentangle_fas.data.adapters import (
        ADAPTERS,
        CELEBA_SPOOF_3D_MASK,
        CasiaFASD,
        CelebASpoof,
        DatasetAdapter,
        ListAdapter,
        MsuMfsd,
        OuluNPU,
        ReplayAttack,
    )
    from disentangle_fas.data.check import DataCheck, check_dataset
    from disentangle_fas.data.datasets import CropDataset, ImageFolderDataset, select_entries
    from disentangle_fas.data.manifest import ManifestEntry, read_manifest, write_manifest
    from disentangle_fas.data.protocols import (
        BENCHMARK_DOMAINS,
        TABLE1_TASKS,
        TABLE2_TASKS,
        Protocol,
        Selection,
        benchmark_protocols,
        leave_one_out,
        leave_one_out_protocols,
        parse_task,
    )
    from disentangle_fas.data.recipes import RECIPES, Recipe, get_recipe
    from disentangle_fas.data.records import SPLITS, Record
    from disentangle_fas.data.sampler import DomainBalancedBatchSampler
    from disentangle_fas.data.store import StoreDataset, pack_store
    from disentangle_fas.data.transforms import (
        IMAGENET_MEAN,
        IMAGENET_STD,
        ColorJitter,
        Compose,
        Normalize,
        RandomHorizontalFlip,
        train_transform,
    )

_LAZY: dict[str, str] = {
    "ADAPTERS": "disentangle_fas.data.adapters",
    "BENCHMARK_DOMAINS": "disentangle_fas.data.protocols",
    "CELEBA_SPOOF_3D_MASK": "disentangle_fas.data.adapters",
    "CasiaFASD": "disentangle_fas.data.adapters",
    "CelebASpoof": "disentangle_fas.data.adapters",
    "ColorJitter": "disentangle_fas.data.transforms",
    "Compose": "disentangle_fas.data.transforms",
    "CropDataset": "disentangle_fas.data.datasets",
    "DatasetAdapter": "disentangle_fas.data.adapters",
    "DomainBalancedBatchSampler": "disentangle_fas.data.sampler",
    "IMAGENET_MEAN": "disentangle_fas.data.transforms",
    "IMAGENET_STD": "disentangle_fas.data.transforms",
    "ImageFolderDataset": "disentangle_fas.data.datasets",
    "ListAdapter": "disentangle_fas.data.adapters",
    "ManifestEntry": "disentangle_fas.data.manifest",
    "MsuMfsd": "disentangle_fas.data.adapters",
    "Normalize": "disentangle_fas.data.transforms",
    "OuluNPU": "disentangle_fas.data.adapters",
    "Protocol": "disentangle_fas.data.protocols",
    "RandomHorizontalFlip": "disentangle_fas.data.transforms",
    "RECIPES": "disentangle_fas.data.recipes",
    "Recipe": "disentangle_fas.data.recipes",
    "Record": "disentangle_fas.data.records",
    "ReplayAttack": "disentangle_fas.data.adapters",
    "SPLITS": "disentangle_fas.data.records",
    "Selection": "disentangle_fas.data.protocols",
    "StoreDataset": "disentangle_fas.data.store",
    "TABLE1_TASKS": "disentangle_fas.data.protocols",
    "TABLE2_TASKS": "disentangle_fas.data.protocols",
    "DataCheck": "disentangle_fas.data.check",
    "benchmark_protocols": "disentangle_fas.data.protocols",
    "check_dataset": "disentangle_fas.data.check",
    "get_recipe": "disentangle_fas.data.recipes",
    "leave_one_out": "disentangle_fas.data.protocols",
    "leave_one_out_protocols": "disentangle_fas.data.protocols",
    "pack_store": "disentangle_fas.data.store",
    "parse_task": "disentangle_fas.data.protocols",
    "read_manifest": "disentangle_fas.data.manifest",
    "select_entries": "disentangle_fas.data.datasets",
    "train_transform": "disentangle_fas.data.transforms",
    "write_manifest": "disentangle_fas.data.manifest",
}

__all__ = [
    "ADAPTERS",
    "BENCHMARK_DOMAINS",
    "CELEBA_SPOOF_3D_MASK",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "RECIPES",
    "SPLITS",
    "TABLE1_TASKS",
    "TABLE2_TASKS",
    "CasiaFASD",
    "CelebASpoof",
    "ColorJitter",
    "Compose",
    "CropDataset",
    "DataCheck",
    "DatasetAdapter",
    "DomainBalancedBatchSampler",
    "ImageFolderDataset",
    "ListAdapter",
    "ManifestEntry",
    "MsuMfsd",
    "Normalize",
    "OuluNPU",
    "Protocol",
    "RandomHorizontalFlip",
    "Recipe",
    "Record",
    "ReplayAttack",
    "Selection",
    "StoreDataset",
    "benchmark_protocols",
    "check_dataset",
    "get_recipe",
    "leave_one_out",
    "leave_one_out_protocols",
    "pack_store",
    "parse_task",
    "read_manifest",
    "select_entries",
    "train_transform",
    "write_manifest",
]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that preprocessing workers and the command line do not
    # pay for torch when they do not need it.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
