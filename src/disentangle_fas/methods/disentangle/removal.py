"""How the paper's model keeps information out of its representations: the ``domain_removal``
setting.

The paper's objective has three removal terms, one per encoder: ``live_cnf`` keeps the
domain out of f_L (eq. 6), ``dom_cnf`` the liveness out of f_D (eq. 4), ``cont_cnf`` both
out of f_C (eq. 2). The mechanism decides how each is computed; its slot, its weight
(``w_live_cnf``, ``w_dom_cnf``, ``w_cont_cnf``) and the variant's switches stay. Every slot's
gradient reaches its own encoder (and, for ``adversarial``, its own adversary) and nothing
else: where a term pairs two representations, the other one is detached, so the pair's
gradient reaches each side through that side's own slot.

============  ===============================  ==============================  ===========================
mechanism     live_cnf (f_L)                   dom_cnf (f_D)                   cont_cnf (f_C)
============  ===============================  ==============================  ===========================
frozen        conf(C_D(f_L)), C_D frozen       conf(C_L(f_D)), C_L frozen      conf(C_L(f_C)) + conf(C_D(f_C))
adversarial   CE(A_dL(GRL f_L), d)             CE(A_lD(GRL f_D), y)            CE(A_lC(GRL f_C), y) + CE(A_dC(GRL f_C), d)
hsic          nHSIC(f_L, d) + nHSIC(f_L, f_D)  nHSIC(f_D, y) + nHSIC(f_D, f_L)  nHSIC(f_C, y) + nHSIC(f_C, d)
orthogonal    diff(f_L, f_D)                   diff(f_D, f_L)                  diff(f_C, f_L) + diff(f_C, f_D)
============  ===============================  ==============================  ===========================

(The ``content`` variant has no f_D and no domain labels in its objective: its ``cont_cnf``
keeps only the parts without them.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from torch import Tensor, nn

from disentangle_fas.contracts import DisentangledFeatures, Variant
from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.losses.adversarial import adversarial_loss
from disentangle_fas.losses.confusion import confusion_loss, frozen_call
from disentangle_fas.losses.difference import difference_loss
from disentangle_fas.losses.independence import hsic_penalty, one_hot_labels
from disentangle_fas.methods.disentangle.config import REMOVALS, Removal
from disentangle_fas.nn import pool

__all__ = [
    "ADVERSARIES",
    "REMOVALS",
    "Removal",
    "RemovalTerms",
    "adversaries_for",
    "build_adversaries",
    "removal_terms",
]

#: The adversaries of ``adversarial``: name -> (representation, what it reads).
ADVERSARIES: dict[str, tuple[str, str]] = {
    "domain_from_liveness": ("liveness", "domain"),
    "liveness_from_domain": ("domain", "liveness"),
    "liveness_from_content": ("content", "liveness"),
    "domain_from_content": ("content", "domain"),
}


class RemovalTerms(NamedTuple):
    """The three removal terms (unweighted); a switched-off one is a zero tensor."""

    cont_cnf: Tensor
    dom_cnf: Tensor
    live_cnf: Tensor


def adversaries_for(variant: Variant | str) -> tuple[str, ...]:
    """The adversaries the ``adversarial`` mechanism trains for ``variant``'s branches."""
    v = Variant(variant)
    names: list[str] = []
    if v.uses_domain:
        names += ["domain_from_liveness", "liveness_from_domain"]
    if v.uses_content:
        names.append("liveness_from_content")
        if v.uses_domain:
            names.append("domain_from_content")
    return tuple(names)


def build_adversaries(
    variant: Variant | str, num_features: int, num_domains: int, hidden: int | None = None
) -> nn.ModuleDict:
    """The adversaries of ``variant`` (:func:`adversaries_for`): each a
    :class:`~disentangle_fas.heads.DomainClassifier` shaped like C_D (linear, or one hidden
    layer of ``hidden``) with ``num_domains`` outputs when it reads the domain, 2 when it
    reads the liveness.

    Returns:
        A ``ModuleDict`` (empty for the baseline).
    """
    classes = {"domain": num_domains, "liveness": 2}
    return nn.ModuleDict(
        {
            name: DomainClassifier(num_features, classes[ADVERSARIES[name][1]], hidden=hidden)
            for name in adversaries_for(variant)
        }
    )


def removal_terms(
    mechanism: str,
    features: DisentangledFeatures,
    labels: Tensor,
    domains: Tensor | None,
    *,
    variant: Variant,
    liveness_head: LMCLHead,
    domain_head: DomainClassifier | None,
    adversaries: Mapping[str, nn.Module] | None = None,
    coeff: float = 1.0,
) -> RemovalTerms:
    """The removal terms of ``mechanism`` for the variant's branches (module docstring).

    Args:
        mechanism: one of :data:`REMOVALS`.
        features: the encoders' outputs (the variant's branches set).
        labels: ``(B,)`` liveness labels.
        domains: ``(B,)`` domain indices (domain variants).
        variant: which branches are on.
        liveness_head: C_L (``frozen``).
        domain_head: C_D (``frozen``; its ``num_domains`` is S for the one-hot labels).
        adversaries: the adversaries of ``adversarial`` by name (:data:`ADVERSARIES`).
        coeff: the gradient-reversal strength of ``adversarial``.

    Returns:
        :class:`RemovalTerms`.
    """
    zero = features.liveness.new_zeros(())
    live = dom = cont = zero
    has_domain = variant.uses_domain and features.domain is not None and domains is not None
    f_l = pool(features.liveness)
    f_c = pool(features.content) if variant.uses_content and features.content is not None else None
    f_d = pool(features.domain) if has_domain and features.domain is not None else None
    s = domain_head.num_domains if domain_head is not None else 0

    if mechanism == "frozen":
        # The heads pool the maps themselves: called on the maps, as the paper's terms were
        # always computed, so that the default trains bit for bit as before.
        c_l, c_d = liveness_head, domain_head
        m_l, m_c, m_d = features.liveness, features.content, features.domain
        if f_c is not None and m_c is not None:
            cont = confusion_loss(c_l.scale * frozen_call(c_l, m_c))
        if f_d is not None and m_d is not None and c_d is not None:
            dom = confusion_loss(c_l.scale * frozen_call(c_l, m_d))
            live = confusion_loss(frozen_call(c_d, m_l))
            if f_c is not None and m_c is not None:
                cont = cont + confusion_loss(frozen_call(c_d, m_c))
    elif mechanism == "adversarial":
        adv = dict(adversaries or {})
        missing = [n for n in adversaries_for(variant) if n not in adv]
        if missing:
            raise ValueError(f"domain_removal 'adversarial' needs the adversaries {missing}")
        if f_c is not None:
            cont = adversarial_loss(f_c, labels, adv["liveness_from_content"], coeff=coeff)
        if f_d is not None and domains is not None:
            live = adversarial_loss(f_l, domains, adv["domain_from_liveness"], coeff=coeff)
            dom = adversarial_loss(f_d, labels, adv["liveness_from_domain"], coeff=coeff)
            if f_c is not None:
                cont = cont + adversarial_loss(
                    f_c, domains, adv["domain_from_content"], coeff=coeff
                )
    elif mechanism == "hsic":
        y = one_hot_labels(labels, 2, f_l.dtype)
        if f_c is not None:
            cont = hsic_penalty(f_c, y)
        if f_d is not None and domains is not None:
            m = one_hot_labels(domains, s, f_l.dtype)
            live = hsic_penalty(f_l, m) + hsic_penalty(f_l, f_d.detach())
            dom = hsic_penalty(f_d, y) + hsic_penalty(f_d, f_l.detach())
            if f_c is not None:
                cont = cont + hsic_penalty(f_c, m)
    elif mechanism == "orthogonal":
        if f_c is not None:
            cont = difference_loss(f_c, f_l.detach())
        if f_d is not None:
            live = difference_loss(f_l, f_d.detach())
            dom = difference_loss(f_d, f_l.detach())
            if f_c is not None:
                cont = cont + difference_loss(f_c, f_d.detach())
    else:
        raise ValueError(f"domain_removal must be one of {', '.join(REMOVALS)}, got {mechanism!r}")
    return RemovalTerms(cont, dom, live)
