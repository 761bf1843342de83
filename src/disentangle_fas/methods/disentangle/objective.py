"""The paper's full objective: six weighted terms, with the ablation switches of Table 3."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from torch import Tensor, nn

from disentangle_fas.contracts import DisentangledFeatures, Variant
from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.losses.content import content_loss
from disentangle_fas.losses.domain import domain_loss
from disentangle_fas.losses.lmcl import lmcl_loss
from disentangle_fas.methods.disentangle.config import DEFAULT_GRL_GAMMA, LOSS_WEIGHT_FIELDS
from disentangle_fas.methods.disentangle.removal import (
    REMOVALS,
    adversaries_for,
    removal_terms,
)
from disentangle_fas.nn import grl_schedule

if TYPE_CHECKING:
    from disentangle_fas.methods.disentangle.model import DisentangledFAS

__all__ = [
    "DisentangledFeatures",
    "DisentanglementObjective",
    "LossWeights",
    "ObjectiveTerms",
    "Variant",
]


@dataclass(frozen=True)
class LossWeights:
    """Weights of the terms of the total loss (``L_live`` has weight 1).

    ``L = L_live + dom*L_dom + cont*L_cont + cont_cnf*L_cont^cnf + dom_cnf*L_dom^cnf
    + live_cnf*L_live^cnf``. The paper gives no values; all default to 1 (our choice).
    """

    dom: float = 1.0
    cont: float = 1.0
    cont_cnf: float = 1.0
    dom_cnf: float = 1.0
    live_cnf: float = 1.0

    def __post_init__(self) -> None:
        for name in ("dom", "cont", "cont_cnf", "dom_cnf", "live_cnf"):
            value = getattr(self, name)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"loss weight {name} must be >= 0, got {value}")


class ObjectiveTerms(NamedTuple):
    """The total loss and each (unweighted) term; switched-off terms are zero tensors."""

    total: Tensor
    live: Tensor
    dom: Tensor
    cont: Tensor
    cont_cnf: Tensor
    dom_cnf: Tensor
    live_cnf: Tensor

    def as_floats(self) -> dict[str, float]:
        """Return every field as a Python float (for logging)."""
        return {name: float(value.detach()) for name, value in self._asdict().items()}


class DisentanglementObjective(nn.Module):
    """The six losses of the paper combined with weights.

    ===========  =====  ==========================  ====================
    term         eq.    value                       gradient reaches
    ===========  =====  ==========================  ====================
    live         5      LMCL on C_L(E_L(x))         E_L, C_L
    dom          3      CE on C_D(E_D(x))           E_D, C_D
    cont         1      |D_C(E_C(x)) - Phi(x)|^2    E_C, D_C
    cont_cnf     2      conf(C_L(E_C)) + conf(C_D(E_C))  E_C only
    dom_cnf      4      conf(C_L(E_D(x)))           E_D only
    live_cnf     6      conf(C_D(E_L(x)))           E_L only
    ===========  =====  ==========================  ====================

    (The encoders share their stem, so every term also reaches the shared first layer.)
    Confusion terms evaluate the classifiers through
    :func:`~disentangle_fas.losses.frozen_call`, so they never move classifier parameters.
    Every term is a batch mean (the paper writes sums).

    That table is the paper's ``removal="frozen"``. The other removal mechanisms
    (``adversarial``, ``hsic``, ``orthogonal``) compute the three removal terms
    ``live_cnf``, ``dom_cnf`` and ``cont_cnf`` their own way, with the same weights and
    switches; each still reaches only its own encoder (and its own adversary)
    (:mod:`disentangle_fas.methods.disentangle.removal`).

    The heads are referenced, not owned: they are not registered as submodules, so the
    objective has no parameters of its own and an optimizer over the model sees each
    parameter once.

    Args:
        liveness_head: C_L, whose ``scale`` and ``margin`` the LMCL and confusion use.
        domain_head: C_D; required by the ``DOMAIN`` and ``FULL`` variants.
        variant: which branches are on (:class:`Variant` or its string value).
        weights: term weights.
        per_element_content: see :func:`~disentangle_fas.losses.content_loss`.
        removal: how the removal terms are computed (``"frozen"``, the paper's;
            ``"adversarial"``, ``"hsic"``, ``"orthogonal"``).
        adversaries: the adversaries of ``removal="adversarial"`` by name (the model's
            ``adversaries``); referenced, not owned, like the heads.
        grl_gamma: steepness of the adversaries' gradient-reversal warm-up
            (:func:`~disentangle_fas.nn.grl_schedule` of the training progress).

    Example:
        >>> head, dom = LMCLHead(8), DomainClassifier(8, 3)
        >>> obj = DisentanglementObjective(head, dom, variant="domain")
        >>> f = DisentangledFeatures(torch.randn(6, 8), domain=torch.randn(6, 8))
        >>> terms = obj(f, torch.tensor([0, 1, 0, 1, 0, 1]), torch.tensor([0, 0, 1, 1, 2, 2]))
        >>> terms.total.shape
        torch.Size([])
    """

    def __init__(
        self,
        liveness_head: LMCLHead,
        domain_head: DomainClassifier | None = None,
        *,
        variant: Variant | str = Variant.FULL,
        weights: LossWeights | None = None,
        per_element_content: bool = True,
        removal: str = "frozen",
        adversaries: Mapping[str, nn.Module] | None = None,
        grl_gamma: float = DEFAULT_GRL_GAMMA,
    ) -> None:
        super().__init__()
        self.variant = Variant(variant)
        if self.variant.uses_domain and domain_head is None:
            raise ValueError(f"variant {self.variant.value!r} needs a domain_head (C_D)")
        if removal not in REMOVALS:
            raise ValueError(f"removal must be one of {', '.join(REMOVALS)}, got {removal!r}")
        # Plain containers: referenced, not registered (see the class docstring).
        self._heads: tuple[LMCLHead, DomainClassifier | None] = (liveness_head, domain_head)
        self._adversaries: dict[str, nn.Module] = dict(adversaries or {})
        if removal == "adversarial":
            missing = [n for n in adversaries_for(self.variant) if n not in self._adversaries]
            if missing:
                raise ValueError(f"removal 'adversarial' needs the adversaries {missing}")
        self.weights = weights if weights is not None else LossWeights()
        self.per_element_content = per_element_content
        self.removal = removal
        self.grl_gamma = grl_gamma

    @classmethod
    def from_model(cls, model: DisentangledFAS) -> DisentanglementObjective:
        """The objective of ``model`` with the variant and loss weights of its config.

        Args:
            model: a :class:`~disentangle_fas.methods.disentangle.DisentangledFAS`; one
                assembled by hand without a config gets the variant its parts make and the
                default weights.

        Returns:
            The objective.
        """
        cfg = model.config
        if cfg is None:
            return cls(model.liveness_head, model.domain_head, variant=model.variant)
        weights = LossWeights(*(getattr(cfg, name) for name in LOSS_WEIGHT_FIELDS))
        return cls(
            model.liveness_head,
            model.domain_head,
            variant=cfg.variant,
            weights=weights,
            removal=cfg.domain_removal,
            adversaries=dict(model.adversaries.items()) if model.adversaries else None,
            grl_gamma=cfg.grl_gamma,
        )

    @property
    def liveness_head(self) -> LMCLHead:
        """C_L."""
        return self._heads[0]

    @property
    def domain_head(self) -> DomainClassifier | None:
        """C_D, or ``None``."""
        return self._heads[1]

    def forward(
        self,
        features: DisentangledFeatures,
        labels: Tensor,
        domains: Tensor | None = None,
        content_target: Tensor | None = None,
        *,
        progress: float = 1.0,
    ) -> ObjectiveTerms:
        """Compute every term of the variant and the weighted total.

        Args:
            features: the encoders' outputs; the fields the variant needs must be set.
            labels: ``(B,)`` liveness labels (1 live, 0 spoof).
            domains: ``(B,)`` source-domain indices; needed by domain variants.
            content_target: ``Phi(x)``, same shape as ``features.content_pred``; needed by
                content variants. Detached inside.
            progress: training progress in ``[0, 1]``, which sets the gradient-reversal
                strength of ``removal="adversarial"`` (unused otherwise).

        Returns:
            :class:`ObjectiveTerms`.

        Raises:
            ValueError: an input the variant needs is missing.
        """
        v, w = self.variant, self.weights
        c_l, c_d = self._heads
        zero = features.liveness.new_zeros(())
        live = lmcl_loss(c_l(features.liveness), labels, scale=c_l.scale, margin=c_l.margin)
        dom = cont = zero

        if v.uses_content:
            if features.content is None or features.content_pred is None:
                raise ValueError(f"variant {v.value!r} needs features.content and content_pred")
            if content_target is None:
                raise ValueError(f"variant {v.value!r} needs content_target")
            cont = content_loss(
                features.content_pred, content_target, per_element=self.per_element_content
            )
        if v.uses_domain:
            assert c_d is not None  # checked in __init__
            if features.domain is None:
                raise ValueError(f"variant {v.value!r} needs features.domain")
            if domains is None:
                raise ValueError(f"variant {v.value!r} needs domain labels")
            dom = domain_loss(c_d(features.domain), domains)
        cont_cnf, dom_cnf, live_cnf = removal_terms(
            self.removal,
            features,
            labels,
            domains,
            variant=v,
            liveness_head=c_l,
            domain_head=c_d,
            adversaries=self._adversaries,
            coeff=grl_schedule(min(max(progress, 0.0), 1.0), self.grl_gamma)
            if self.removal == "adversarial"
            else 1.0,
        )

        total = (
            live
            + w.dom * dom
            + w.cont * cont
            + w.cont_cnf * cont_cnf
            + w.dom_cnf * dom_cnf
            + w.live_cnf * live_cnf
        )
        return ObjectiveTerms(total, live, dom, cont, cont_cnf, dom_cnf, live_cnf)
