"""SSDG's training objective: classification + single-side adversarial + asymmetric triplet."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from disentangle_fas.heads import LMCLHead
from disentangle_fas.losses import lmcl_loss
from disentangle_fas.methods.common.config import check_finite
from disentangle_fas.methods.ssdg.config import (
    DEFAULT_GRL_GAMMA,
    DEFAULT_LAMBDA_ADV,
    DEFAULT_LAMBDA_TRIP,
    SSDGConfig,
)
from disentangle_fas.methods.ssdg.discriminator import SingleSideDiscriminator
from disentangle_fas.methods.ssdg.model import SSDGR, SSDGOutput
from disentangle_fas.methods.ssdg.triplet import (
    DEFAULT_TRIPLET_MARGIN,
    TripletReduction,
    asymmetric_triplet_loss,
)
from disentangle_fas.nn import ScheduledReversal

__all__ = ["SSDGObjective", "SSDGTerms"]


class SSDGTerms(NamedTuple):
    """The total loss and each unweighted term.

    Attributes:
        total: ``cls + lambda_adv * adv + lambda_trip * trip``.
        cls: classification loss (cross-entropy on the normalised logits).
        adv: single-side adversarial loss (domain cross-entropy of the real faces).
        trip: asymmetric triplet loss.
    """

    total: Tensor
    cls: Tensor
    adv: Tensor
    trip: Tensor

    def as_floats(self) -> dict[str, float]:
        """Return every field as a Python float (for logging)."""
        return {name: float(value.detach()) for name, value in self._asdict().items()}


class SSDGObjective(ScheduledReversal, nn.Module):
    r"""SSDG's loss, ``L = L_cls + lambda_adv L_adv + lambda_trip L_trip``.

    ===========  ===================================================  =====================
    term         value                                                 gradient reaches
    ===========  ===================================================  =====================
    cls          CE on ``scale * (cos - margin * onehot(y))``          generator, classifier
    adv          domain CE of the discriminator on REAL faces only     discriminator (+);
                                                                       generator, reversed
                                                                       and scaled by
                                                                       ``grl_schedule(p)``
    trip         asymmetric triplet loss on the normalised features    generator
    ===========  ===================================================  =====================

    The official code (taylover-pei/SSDG-CVPR2020, ``train_ssdg_full.py``) computes the same
    three terms and ``total_loss = cls_loss + lambda_triplet * triplet + lambda_adreal *
    real_adloss`` with one SGD optimizer over the network and the discriminator; the GRL
    inside the discriminator turns the single backward pass into the min-max game.

    The discriminator and classifier are referenced, not registered: the objective has no
    parameters of its own.

    Args:
        discriminator: the model's :class:`SingleSideDiscriminator`.
        classifier: the model's normalised classifier (its ``scale`` and ``margin`` are used).
        lambda_adv: weight of ``adv``.
        lambda_trip: weight of ``trip``.
        triplet_margin: margin of the triplet loss.
        triplet_reduction: ``"positive"`` or ``"valid"``
            (:func:`~disentangle_fas.ssdg.triplet.asymmetric_triplet_loss`).
        grl_gamma: steepness of :func:`~disentangle_fas.nn.grl_schedule`.

    Example:
        >>> import torch
        >>> model = SSDGR.from_config(SSDGConfig(num_domains=2, depth=10), warn_random=False)
        >>> objective = SSDGObjective.from_model(model)
        >>> y, d = torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
        >>> terms = objective(model(torch.rand(4, 3, 32, 32)), y, d, progress=0.5)
        >>> terms.total.shape
        torch.Size([])
    """

    def __init__(
        self,
        discriminator: SingleSideDiscriminator,
        classifier: LMCLHead,
        *,
        lambda_adv: float = DEFAULT_LAMBDA_ADV,
        lambda_trip: float = DEFAULT_LAMBDA_TRIP,
        triplet_margin: float = DEFAULT_TRIPLET_MARGIN,
        triplet_reduction: TripletReduction = "positive",
        grl_gamma: float = DEFAULT_GRL_GAMMA,
    ) -> None:
        super().__init__()
        # Plain tuple: referenced, not registered (see the class docstring).
        self._parts: tuple[SingleSideDiscriminator, LMCLHead] = (discriminator, classifier)
        self.lambda_adv = float(lambda_adv)
        self.lambda_trip = float(lambda_trip)
        check_finite(self, ("lambda_adv", "lambda_trip"), positive=False)
        self.triplet_margin = float(triplet_margin)
        self.triplet_reduction: TripletReduction = triplet_reduction
        self.grl_gamma = float(grl_gamma)

    @classmethod
    def from_model(cls, model: SSDGR, config: SSDGConfig | None = None) -> SSDGObjective:
        """Build the objective for ``model`` with the loss settings of ``config``.

        Args:
            model: the SSDG-R model.
            config: defaults to ``model.config``, or :class:`SSDGConfig` defaults when the
                model was assembled by hand.

        Returns:
            The objective.
        """
        cfg = config or model.config or SSDGConfig(num_domains=model.discriminator.num_domains)
        return cls(model.discriminator, model.classifier, **cfg.settings_for(cls))

    @property
    def discriminator(self) -> SingleSideDiscriminator:
        """The single-side discriminator."""
        return self._parts[0]

    @property
    def classifier(self) -> LMCLHead:
        """The normalised classifier."""
        return self._parts[1]

    def forward(
        self, output: SSDGOutput, labels: Tensor, domains: Tensor, progress: float
    ) -> SSDGTerms:
        """Compute the three terms and the weighted total.

        Args:
            output: the model's output for the batch.
            labels: ``(B,)`` 1 = live, 0 = spoof.
            domains: ``(B,)`` source-domain indices in ``[0, S)``.
            progress: training progress in ``[0, 1]`` (``step / total_steps``); sets the GRL
                coefficient. It changes the gradient reaching the generator, never a value.

        Returns:
            :class:`SSDGTerms`.

        Raises:
            TypeError, ValueError: malformed labels or domains, progress outside ``[0, 1]``.
        """
        disc, head = self._parts
        coeff = self.grl_coeff(progress)
        cls_term = lmcl_loss(output.cosine, labels, scale=head.scale, margin=head.margin)
        adv = disc.loss(output.normalized, labels, domains, coeff=coeff)
        trip = asymmetric_triplet_loss(
            output.normalized,
            labels,
            domains,
            self.triplet_margin,
            reduction=self.triplet_reduction,
        )
        total = cls_term + self.lambda_adv * adv + self.lambda_trip * trip
        return SSDGTerms(total, cls_term, adv, trip)
