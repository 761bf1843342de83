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
:func:`hsic_penalty` / HSICPenalty --     normalised HSIC, a dependence penalty
:func:`difference_loss` / ...     --      DSN's soft orthogonality of two representations
:func:`adversarial_loss` / ...    --      DANN's adversary through gradient reversal
:func:`leace_erase` / LeaceErasure --     post-hoc LEACE erasure (:func:`fit_leace`)
DisentanglementObjective          all     the paper's objective (methods.disentangle)
================================  ======  =============================================

All losses are batch means. The paper's six-term objective lives in its method folder
(:mod:`disentangle_fas.methods.disentangle`); ``DisentanglementObjective``, ``LossWeights``,
``ObjectiveTerms``, ``DisentangledFeatures`` and ``Variant`` still import from here, resolved
on first use.
"""

import importlib
from typing import Any

from disentangle_fas.losses.adversarial import AdversarialLoss, adversarial_loss
from disentangle_fas.losses.confusion import ConfusionLoss, confusion_loss, frozen_call
from disentangle_fas.losses.content import ContentLoss, content_loss
from disentangle_fas.losses.difference import DifferenceLoss, difference_loss
from disentangle_fas.losses.domain import DomainLoss, domain_loss
from disentangle_fas.losses.erasure import LeaceErasure, LeaceFit, fit_leace, leace_erase
from disentangle_fas.losses.hsic import HSIC, hsic
from disentangle_fas.losses.independence import HSICPenalty, hsic_penalty, one_hot_labels
from disentangle_fas.losses.lmcl import LMCLLoss, lmcl_loss
from disentangle_fas.losses.supcon import SupConLoss, supcon_loss

__all__ = [
    "HSIC",
    "AdversarialLoss",
    "ConfusionLoss",
    "ContentLoss",
    "DifferenceLoss",
    "DisentangledFeatures",
    "DisentanglementObjective",
    "DomainLoss",
    "HSICPenalty",
    "LMCLLoss",
    "LeaceErasure",
    "LeaceFit",
    "LossWeights",
    "ObjectiveTerms",
    "SupConLoss",
    "Variant",
    "adversarial_loss",
    "confusion_loss",
    "content_loss",
    "difference_loss",
    "domain_loss",
    "fit_leace",
    "frozen_call",
    "hsic",
    "hsic_penalty",
    "leace_erase",
    "lmcl_loss",
    "one_hot_labels",
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
