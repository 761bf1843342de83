"""GAC-FAS's losses: the per-domain logistic terms and the supervised contrastive term on
two views of every image (official ``helpers/loops.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_index_vector, check_labels
from disentangle_fas.losses.supcon import supcon_loss
from disentangle_fas.methods.common.config import check_finite
from disentangle_fas.methods.gac_fas.config import GACFASConfig
from disentangle_fas.methods.gac_fas.model import GACFAS, GACFASOutput

__all__ = ["GACFASObjective", "GACFASTerms", "domain_losses"]


def domain_losses(logits: Tensor, labels: Tensor, domains: Tensor, num_domains: int) -> Tensor:
    """Each source domain's logistic loss, weighted so that they sum to the classification
    loss: ``L_k = mean_{i in domain k} BCE(sigmoid(logit_i), y_i) / K``, 0 for a domain with
    no sample (official ``binary_func_sep``: every domain counts alike, whatever its share
    of the batch).

    Args:
        logits: ``(N,)`` logits of P(live).
        labels: ``(N,)`` 1 = live, 0 = spoof.
        domains: ``(N,)`` source-domain indices in ``[0, K)``.
        num_domains: ``K``.

    Returns:
        ``(K,)``: ``L_1 .. L_K``.

    Example:
        >>> domain_losses(torch.zeros(4), torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1]), 2)
        tensor([0.3466, 0.3466])
    """
    check_labels("domain_losses", labels, None)
    check_index_vector("domain_losses", "domains", domains, labels.shape[0])
    if logits.shape != labels.shape:
        raise ValueError(f"domain_losses: logits {tuple(logits.shape)} and labels "
                         f"{tuple(labels.shape)} differ")  # fmt: skip
    per_sample = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype),
                                                    reduction="none")  # fmt: skip
    one_hot = F.one_hot(domains.long(), num_domains).to(per_sample.dtype)  # (N, K)
    counts = one_hot.sum(0)
    sums = per_sample @ one_hot
    return torch.where(counts > 0, sums / counts.clamp_min(1), torch.zeros_like(sums)) / num_domains


class GACFASTerms(NamedTuple):
    """The total loss and its terms.

    Attributes:
        total: ``cls + supcon_weight * supcon``.
        supcon: the unweighted supervised contrastive loss.
        per_domain: ``(K,)`` the ``L_k`` (the ascent of domain ``k`` follows ``grad L_k``).
    """

    total: Tensor
    supcon: Tensor
    per_domain: Tensor

    @property
    def cls(self) -> Tensor:
        """The classification loss, ``sum_k L_k``."""
        return self.per_domain.sum()

    def as_floats(self) -> dict[str, float]:
        """The scalar terms as floats, for logs."""
        return {name: float(getattr(self, name).detach()) for name in ("total", "cls", "supcon")}


class GACFASObjective(nn.Module):
    """``sum_k L_k + lambda SupCon`` on ``2 B`` stacked views (view 0 of every image, then
    view 1), SupCon with one class per (domain, liveness) pair (official ``UUID * 10 +
    label``). The objective has no parameters.

    Args:
        num_domains: ``K``.
        supcon_weight: lambda (official 0.2).
        temperature: SupCon tau (official 0.1).
        base_temperature: SupCon tau_b (official 0.07).

    Example:
        >>> obj = GACFASObjective(2)
        >>> out = GACFASOutput(torch.rand(8, 5), torch.zeros(8))
        >>> obj(out, torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])).per_domain.shape
        torch.Size([2])
    """

    def __init__(self, num_domains: int, *, supcon_weight: float = 0.2,
                 temperature: float = 0.1, base_temperature: float = 0.07) -> None:  # fmt: skip
        super().__init__()
        self.num_domains = int(num_domains)
        self.supcon_weight = float(supcon_weight)
        check_finite(self, ("supcon_weight",), positive=False)
        self.temperature = float(temperature)
        self.base_temperature = float(base_temperature)

    @classmethod
    def from_config(cls, config: GACFASConfig) -> GACFASObjective:
        """The objective with ``config``'s settings."""
        return cls(config.num_domains, **config.settings_for(cls))

    @classmethod
    def from_model(cls, model: GACFAS) -> GACFASObjective:
        """The objective of ``model``'s config (what the method adapters' base builds).

        Raises:
            ValueError: a model without a config.
        """
        if model.config is None:
            raise ValueError("GACFASObjective.from_model: the model has no config")
        return cls.from_config(model.config)

    def classification(self, logits: Tensor, labels: Tensor, domains: Tensor) -> Tensor:
        """``sum_k L_k`` on ``V B`` stacked views of ``B`` images (the loss whose gradient
        GAC-FAS takes at every ascent point).
        """
        views = logits.shape[0] // max(1, labels.shape[0])
        return domain_losses(logits, labels.repeat(views), domains.repeat(views),
                             self.num_domains).sum()  # fmt: skip

    def forward(self, output: GACFASOutput, labels: Tensor, domains: Tensor) -> GACFASTerms:
        """Every term from the model's output on ``V B`` stacked views.

        Args:
            output: the model's output on the views.
            labels: ``(B,)`` of the original images.
            domains: ``(B,)`` their source domains.

        Raises:
            ValueError: the views are not a multiple of the batch, or malformed labels.
        """
        b = labels.shape[0] if isinstance(labels, Tensor) else 0
        n = output.features.shape[0]
        if b == 0 or n % b:
            raise ValueError(f"GACFASObjective: {n} views are not a multiple of the batch of {b}")
        views = n // b
        per_domain = domain_losses(output.logits, labels.repeat(views), domains.repeat(views),
                                   self.num_domains)  # fmt: skip
        stacked = output.features.reshape(views, b, -1).transpose(0, 1)
        supcon = supcon_loss(stacked, 2 * domains.long() + labels.long(),
                             temperature=self.temperature,
                             base_temperature=self.base_temperature)  # fmt: skip
        return GACFASTerms(per_domain.sum() + self.supcon_weight * supcon, supcon, per_domain)
