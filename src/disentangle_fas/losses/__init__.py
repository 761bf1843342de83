"""The paper's losses, each a typed function and a thin ``nn.Module``.

================================  ======  =============================================
function / module                 eq.     meaning
================================  ======  =============================================
:func:`lmcl_loss` / LMCLLoss      5       large margin cosine loss of the liveness head
:func:`content_loss` / ContentLoss 1      squared error to the content target
:func:`domain_loss` / DomainLoss  3       domain cross-entropy
:func:`confusion_loss` / ...      2,4,6   softmax pushed to uniform
:func:`supcon_loss` / SupConLoss  --      supervised contrastive loss (SA-FAS)
:func:`hsic` / HSIC               --      kernel dependence between two representations
DisentanglementObjective          all     the paper's objective (methods.disentangle)
================================  ======  =============================================

All losses are batch means. The paper's six-term objective lives in its method folder
(:mod:`disentangle_fas.methods.disentangle`); ``DisentanglementObjective``, ``LossWeights``,
``ObjectiveTerms``, ``DisentangledFeatures`` and ``Variant`` still import from here, resolved
on first use.
"""

import importlib
from typing import Any

from disentangle_fas.losses.confusion import ConfusionLoss, confusion_loss, frozen_call
from disentangle_fas.losses.content import ContentLoss, content_loss
from disentangle_fas.losses.domain import DomainLoss, domain_loss
from disentangle_fas.losses.hsic import HSIC, hsic
from disentangle_fas.losses.lmcl import LMCLLoss, lmcl_loss
from disentangle_fas.losses.supcon import SupConLoss, supcon_loss

__all__ = [
    "HSIC",
    "ConfusionLoss",
    "ContentLoss",
    "DisentangledFeatures",
    "DisentanglementObjective",
    "DomainLoss",
    "LMCLLoss",
    "LossWeights",
    "ObjectiveTerms",
    "SupConLoss",
    "Variant",
    "confusion_loss",
    "content_loss",
    "domain_loss",
    "frozen_call",
    "hsic",
    "lmcl_loss",
    "supcon_loss",
]

_MOVED = frozenset(
    {"DisentangledFeatures", "DisentanglementObjective", "LossWeights", "ObjectiveTerms", "Variant"}
)


def __getattr__(name: str) -> Any:
    """The moved names, from :mod:`disentangle_fas.methods.disentangle.objective` (lazily:
    the losses sit below the methods).
    """
    if name in _MOVED:
        return getattr(
            importlib.import_module("disentangle_fas.methods.disentangle.objective"), name
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
