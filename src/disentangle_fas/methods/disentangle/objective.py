"""The paper's full objective: six weighted terms, with the ablation switches of Table 3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from torch import Tensor, nn

from disentangle_fas.contracts import DisentangledFeatures, Variant
from disentangle_fas.heads import DomainClassifier, LMCLHead
from disentangle_fas.losses.confusion import confusion_loss, frozen_call
from disentangle_fas.losses.content import content_loss
from disentangle_fas.losses.domain import domain_loss
from disentangle_fas.losses.lmcl import lmcl_loss
from disentangle_fas.methods.disentangle.config import LOSS_WEIGHT_FIELDS

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

    The heads are referenced, not owned: they are not registered as submodules, so the
    objective has no parameters of its own and an optimizer over the model sees each
    parameter once.

    Args:
        liveness_head: C_L, whose ``scale`` and ``margin`` the LMCL and confusion use.
        domain_head: C_D; required by the ``DOMAIN`` and ``FULL`` variants.
        variant: which branches are on (:class:`Variant` or its string value).
        weights: term weights.
        per_element_content: see :func:`~disentangle_fas.losses.content_loss`.

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
    ) -> None:
        super().__init__()
        self.variant = Variant(variant)
        if self.variant.uses_domain and domain_head is None:
            raise ValueError(f"variant {self.variant.value!r} needs a domain_head (C_D)")
        # Plain tuple: referenced, not registered (see the class docstring).
        self._heads: tuple[LMCLHead, DomainClassifier | None] = (liveness_head, domain_head)
        self.weights = weights if weights is not None else LossWeights()
        self.per_element_content = per_element_content

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
        return cls(model.liveness_head, model.domain_head, variant=cfg.variant, weights=weights)

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
    ) -> ObjectiveTerms:
        """Compute every term of the variant and the weighted total.

        Args:
            features: the encoders' outputs; the fields the variant needs must be set.
            labels: ``(B,)`` liveness labels (1 live, 0 spoof).
            domains: ``(B,)`` source-domain indices; needed by domain variants.
            content_target: ``Phi(x)``, same shape as ``features.content_pred``; needed by
                content variants. Detached inside.

        Returns:
            :class:`ObjectiveTerms`.

        Raises:
            ValueError: an input the variant needs is missing.
        """
        v, w = self.variant, self.weights
        c_l, c_d = self._heads
        zero = features.liveness.new_zeros(())
        live = lmcl_loss(c_l(features.liveness), labels, scale=c_l.scale, margin=c_l.margin)
        dom = cont = cont_cnf = dom_cnf = live_cnf = zero

        if v.uses_content:
            if features.content is None or features.content_pred is None:
                raise ValueError(f"variant {v.value!r} needs features.content and content_pred")
            if content_target is None:
                raise ValueError(f"variant {v.value!r} needs content_target")
            cont = content_loss(
                features.content_pred, content_target, per_element=self.per_element_content
            )
            cont_cnf = confusion_loss(c_l.scale * frozen_call(c_l, features.content))
        if v.uses_domain:
            assert c_d is not None  # checked in __init__
            if features.domain is None:
                raise ValueError(f"variant {v.value!r} needs features.domain")
            if domains is None:
                raise ValueError(f"variant {v.value!r} needs domain labels")
            dom = domain_loss(c_d(features.domain), domains)
            dom_cnf = confusion_loss(c_l.scale * frozen_call(c_l, features.domain))
            live_cnf = confusion_loss(frozen_call(c_d, features.liveness))
            if v.uses_content:
                assert features.content is not None
                cont_cnf = cont_cnf + confusion_loss(frozen_call(c_d, features.content))

        total = (
            live
            + w.dom * dom
            + w.cont * cont
            + w.cont_cnf * cont_cnf
            + w.dom_cnf * dom_cnf
            + w.live_cnf * live_cnf
        )
        return ObjectiveTerms(total, live, dom, cont, cont_cnf, dom_cnf, live_cnf)
