"""SA-FAS's training objective on two views per image, and its alignment step."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from disentangle_fas.checks import check_index_vector, check_labels
from disentangle_fas.losses.supcon import supcon_loss
from disentangle_fas.methods.common.config import check_finite
from disentangle_fas.methods.safas.align import align_heads_
from disentangle_fas.methods.safas.config import SAFASConfig
from disentangle_fas.methods.safas.heads import DomainLogisticHeads, per_domain_bce
from disentangle_fas.methods.safas.model import SAFAS, SAFASOutput
from disentangle_fas.methods.safas.views import random_views

__all__ = ["SAFASObjective", "SAFASTerms", "supcon_classes"]


class SAFASTerms(NamedTuple):
    """The total loss and each unweighted term.

    Attributes:
        total: ``cls + supcon_weight * supcon``.
        cls: :func:`~disentangle_fas.safas.heads.per_domain_bce` over both views.
        supcon: :func:`~disentangle_fas.losses.supcon_loss` over (domain, liveness) classes.
    """

    total: Tensor
    cls: Tensor
    supcon: Tensor

    def as_floats(self) -> dict[str, float]:
        """Return every field as a Python float (for logging)."""
        return {name: float(value.detach()) for name, value in self._asdict().items()}


def supcon_classes(labels: Tensor, domains: Tensor) -> Tensor:
    """One class per (domain, liveness) pair: ``2 * domain + label``.

    The official ``train.py`` passes ``UUID * 10 + label``: the same partition.

    Shape:
        - labels, domains and output: ``(B,)``.
    """
    return 2 * domains + labels


class SAFASObjective(nn.Module):
    r"""SA-FAS's loss on ``n_views`` views per image, and the alignment after each step.

    ``L = L_cls + lambda L_SupCon``: the per-domain logistic loss of every view, plus the
    supervised contrastive loss of the views' features with one class per (domain,
    liveness) pair (paper section 4.1, official ``train.py``: ``loss_all = cls_loss +
    feat_loss_weight * feat_loss``, SupCon on ``torch.cat([f1, f2])`` with
    ``UUID * 10 + label``). The projected-gradient alignment of the heads
    (:meth:`after_step`, :func:`~disentangle_fas.safas.align.align_heads`) is applied to
    the weights after the optimizer's step from ``align_start`` on; it is not a loss term.

    The heads are referenced, not registered: the objective has no parameters.

    Args:
        heads: the model's domain heads.
        supcon_weight: lambda (official 0.1).
        temperature: SupCon tau (official 0.1).
        base_temperature: SupCon tau_b (official 0.07).
        align: whether :meth:`after_step` aligns at all.
        align_alpha: the alignment step (official 0.995).
        align_start: progress from which to align (official: epoch 20 of 100).

    Example:
        >>> model = SAFAS.from_config(SAFASConfig(num_domains=2, depth=10), warn_random=False)
        >>> objective = SAFASObjective.from_model(model)
        >>> x, y, d = torch.rand(4, 3, 32, 32), torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
        >>> views = random_views(x, 2)
        >>> objective(model(views), y, d).total.shape
        torch.Size([])
    """

    def __init__(
        self,
        heads: DomainLogisticHeads,
        *,
        supcon_weight: float = 0.1,
        temperature: float = 0.1,
        base_temperature: float = 0.07,
        align: bool = True,
        align_alpha: float = 0.995,
        align_start: float = 0.2,
    ) -> None:
        super().__init__()
        self._parts: tuple[DomainLogisticHeads] = (heads,)
        self.supcon_weight = float(supcon_weight)
        check_finite(self, ("supcon_weight",), positive=False)
        self.temperature = float(temperature)
        self.base_temperature = float(base_temperature)
        self.align = bool(align)
        self.align_alpha = float(align_alpha)
        self.align_start = float(align_start)

    @classmethod
    def from_model(cls, model: SAFAS, config: SAFASConfig | None = None) -> SAFASObjective:
        """Build the objective for ``model`` with the settings of ``config`` (or its own)."""
        cfg = config or model.config or SAFASConfig(num_domains=model.heads.num_domains)
        return cls(model.heads, **cfg.settings_for(cls))

    @property
    def heads(self) -> DomainLogisticHeads:
        """The domain heads."""
        return self._parts[0]

    def forward(self, output: SAFASOutput, labels: Tensor, domains: Tensor) -> SAFASTerms:
        """Compute both terms from the model's output on ``n_views * B`` stacked views.

        Args:
            output: ``model(views)`` with ``views`` as :func:`random_views` returns them
                (view 0 of every image, then view 1, ...).
            labels: ``(B,)`` 1 = live, 0 = spoof, of the original images.
            domains: ``(B,)`` their source domains.

        Returns:
            :class:`SAFASTerms`.

        Raises:
            ValueError: the number of views is not a multiple of the batch, or malformed
                labels/domains.
        """
        b = labels.shape[0] if isinstance(labels, Tensor) else 0
        check_labels("SAFASObjective", labels, None)
        check_index_vector("SAFASObjective", "domains", domains, b)
        n = output.features.shape[0]
        if b == 0 or n % b:
            raise ValueError(
                f"SAFASObjective: {n} views are not a multiple of the batch of {b} images"
            )
        views = n // b
        cls_term = per_domain_bce(output.logits, labels.repeat(views), domains.repeat(views))
        stacked = output.features.reshape(views, b, -1).transpose(0, 1)
        supcon = supcon_loss(
            stacked,
            supcon_classes(labels, domains),
            temperature=self.temperature,
            base_temperature=self.base_temperature,
        )
        return SAFASTerms(cls_term + self.supcon_weight * supcon, cls_term, supcon)

    def after_step(self, progress: float) -> float | None:
        """Align the heads if ``progress >= align_start`` (call after ``optimizer.step()``).

        Args:
            progress: training progress of the step just taken, in ``[0, 1]``.

        Returns:
            The heads' mean pairwise cosine before the update, or ``None`` when nothing
            was done.
        """
        if not self.align or progress < self.align_start:
            return None
        return align_heads_(self._parts[0], self.align_alpha)

    def views(self, images: Tensor, config: SAFASConfig, *,
              generator: torch.Generator | None = None) -> Tensor:  # fmt: skip
        """Two augmented views of every image with ``config``'s augmentation settings."""
        return random_views(
            images,
            2,
            rotation_degrees=config.rotation_degrees,
            crop_scale_min=config.crop_scale_min,
            hflip=config.hflip,
            generator=generator,
        )
