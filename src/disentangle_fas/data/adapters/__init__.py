"""Dataset adapters: ``Adapter(root).records(split=None) -> list[Record]``."""

from __future__ import annotations

from disentangle_fas.data.adapters.base import DatasetAdapter
from disentangle_fas.data.adapters.casia import CasiaFASD
from disentangle_fas.data.adapters.celeba_spoof import CELEBA_SPOOF_3D_MASK, CelebASpoof
from disentangle_fas.data.adapters.listfile import ListAdapter
from disentangle_fas.data.adapters.msu import MsuMfsd
from disentangle_fas.data.adapters.oulu import OuluNPU
from disentangle_fas.data.adapters.replay import ReplayAttack

__all__ = [
    "ADAPTERS",
    "CELEBA_SPOOF_3D_MASK",
    "CasiaFASD",
    "CelebASpoof",
    "DatasetAdapter",
    "ListAdapter",
    "MsuMfsd",
    "OuluNPU",
    "ReplayAttack",
]

#: command-line / config name -> adapter class of the five benchmarks.
ADAPTERS: dict[str, type[DatasetAdapter]] = {
    "oulu": OuluNPU,
    "casia": CasiaFASD,
    "replay": ReplayAttack,
    "msu": MsuMfsd,
    "celeba-spoof": CelebASpoof,
}
