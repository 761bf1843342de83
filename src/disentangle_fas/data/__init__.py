"""Data: dataset adapters, preprocessing, the training store, samplers and protocols.

* Adapters (:class:`OuluNPU`, :class:`CasiaFASD`, :class:`ReplayAttack`,
  :class:`MsuMfsd`, :class:`CelebASpoof`, :class:`ListAdapter`) list a local copy of a
  dataset as :class:`Record` objects, reading names and annotation files only.
* :mod:`disentangle_fas.data.preprocess` (``disentangle-fas preprocess``) turns records into
  256x256 face crops and a JSONL manifest; :mod:`disentangle_fas.data.store`
  (``disentangle-fas pack``) packs crops into memory-mapped arrays.
* :class:`ImageFolderDataset` and :class:`StoreDataset` return
  :class:`~disentangle_fas.types.FASSample`; :class:`DomainBalancedBatchSampler` makes
  balanced batches; :class:`CrossDomainProtocol` / :func:`leave_one_out` say which domains, splits and
  attacks train and test.

Attack ids are dataset specific (0 is always live); each adapter's ``ATTACKS`` table maps
them to names (see ``docs/datasets.md``).
"""

from typing import TYPE_CHECKING

from disentangle_fas._lazy import lazy_exports

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
        CrossDomainProtocol,
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
    "CrossDomainProtocol",
    "DataCheck",
    "DatasetAdapter",
    "DomainBalancedBatchSampler",
    "ImageFolderDataset",
    "ListAdapter",
    "ManifestEntry",
    "MsuMfsd",
    "Normalize",
    "OuluNPU",
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

#: public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "ADAPTERS": "disentangle_fas.data.adapters",
    "CELEBA_SPOOF_3D_MASK": "disentangle_fas.data.adapters",
    "CasiaFASD": "disentangle_fas.data.adapters",
    "CelebASpoof": "disentangle_fas.data.adapters",
    "DatasetAdapter": "disentangle_fas.data.adapters",
    "ListAdapter": "disentangle_fas.data.adapters",
    "MsuMfsd": "disentangle_fas.data.adapters",
    "OuluNPU": "disentangle_fas.data.adapters",
    "ReplayAttack": "disentangle_fas.data.adapters",
    "DataCheck": "disentangle_fas.data.check",
    "check_dataset": "disentangle_fas.data.check",
    "CropDataset": "disentangle_fas.data.datasets",
    "ImageFolderDataset": "disentangle_fas.data.datasets",
    "select_entries": "disentangle_fas.data.datasets",
    "ManifestEntry": "disentangle_fas.data.manifest",
    "read_manifest": "disentangle_fas.data.manifest",
    "write_manifest": "disentangle_fas.data.manifest",
    "BENCHMARK_DOMAINS": "disentangle_fas.data.protocols",
    "TABLE1_TASKS": "disentangle_fas.data.protocols",
    "TABLE2_TASKS": "disentangle_fas.data.protocols",
    "CrossDomainProtocol": "disentangle_fas.data.protocols",
    "Selection": "disentangle_fas.data.protocols",
    "benchmark_protocols": "disentangle_fas.data.protocols",
    "leave_one_out": "disentangle_fas.data.protocols",
    "leave_one_out_protocols": "disentangle_fas.data.protocols",
    "parse_task": "disentangle_fas.data.protocols",
    "RECIPES": "disentangle_fas.data.recipes",
    "Recipe": "disentangle_fas.data.recipes",
    "get_recipe": "disentangle_fas.data.recipes",
    "SPLITS": "disentangle_fas.data.records",
    "Record": "disentangle_fas.data.records",
    "DomainBalancedBatchSampler": "disentangle_fas.data.sampler",
    "StoreDataset": "disentangle_fas.data.store",
    "pack_store": "disentangle_fas.data.store",
    "IMAGENET_MEAN": "disentangle_fas.data.transforms",
    "IMAGENET_STD": "disentangle_fas.data.transforms",
    "ColorJitter": "disentangle_fas.data.transforms",
    "Compose": "disentangle_fas.data.transforms",
    "Normalize": "disentangle_fas.data.transforms",
    "RandomHorizontalFlip": "disentangle_fas.data.transforms",
    "train_transform": "disentangle_fas.data.transforms",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
