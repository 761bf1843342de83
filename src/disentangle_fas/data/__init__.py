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
