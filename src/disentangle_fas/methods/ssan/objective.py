"""SSAN-R's training objective: classification + assembly contrast + domain adversary."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_index_vector, check_labels
from disentangle_fas.heads import DomainClassifier
from disentangle_fas.methods.common.config import check_finite
from disentangle_fas.methods.ssan.config import (
    DEFAULT_GRL_GAMMA,
    DEFAULT_LAMBDA_ADV,
    DEFAULT_LAMBDA_CONTRAST,
    SSANConfig,
)
from disentangle_fas.methods.ssan.contrast import assembly_contrast_loss, contrast_signs
from disentangle_fas.methods.ssan.model import SSANR, SSANOutput
from disentangle_fas.nn import ScheduledReversal, grad_reverse

__all__ = ["SSANObjective", "SSANTerms", "shuffle_styles"]


class SSANTerms(NamedTuple):
    """The total loss and each unweighted term.

    Attributes:
        total: ``cls + lambda_contrast * contrast + lambda_adv * adv``.
        cls: cross-entropy of the self-assembly's logits.
        contrast: :func:`~disentangle_fas.ssan.contrast.assembly_contrast_loss`.
        adv: domain cross-entropy of the discriminator on the pooled content features.
    """

    total: Tensor
    cls: Tensor
    contrast: Tensor
    adv: Tensor

    def as_floats(self) -> dict[str, float]:
        """Return every field as a Python float (for logging)."""
        return {name: float(value.detach()) for name, value in self._asdict().items()}


def shuffle_styles(batch_size: int, device: torch.device | str = "cpu", *,
                   generator: torch.Generator | None = None) -> Tensor:  # fmt: skip
    """A random permutation of the batch: whose style each image is assembled with.

    The official ``solver.py`` draws ``rand_idx = torch.randperm(B)`` every step.

    Args:
        batch_size: ``B >= 1``.
        device: where the permutation lives.
        generator: optional generator (on ``device``) for reproducible draws.

    Returns:
        ``(B,)`` int64 permutation.
    """
    if batch_size < 1:
        raise ValueError(f"shuffle_styles: batch_size must be >= 1, got {batch_size}")
    return torch.randperm(batch_size, device=device, generator=generator)


class SSANObjective(ScheduledReversal, nn.Module):
    r"""SSAN-R's loss, ``L = L_cls + lambda_contrast L_contra + lambda_adv L_adv``.

    ===========  ====================================================  ====================
    term         value                                                  gradient reaches
    ===========  ====================================================  ====================
    cls          CE of the classifier on the self-assembled feature     everything but the
                                                                        discriminator
    contrast     ``-mean(s_i cos(sg(a_i), r_i))`` (paper eq. 7)        the cross-assembly
                                                                        only (anchor sg)
    adv          domain CE of the discriminator on the pooled content   discriminator (+);
                                                                        content path,
                                                                        reversed, scaled
                                                                        by the GRL schedule
    ===========  ====================================================  ====================

    The official ``solver.py`` sums the three terms with weight 1 and one optimizer. Its
    gradient reversal does not work (``networks/pub_mod.py::GRL.backward`` is never called
    by autograd): ``released_grl=True`` reproduces that, the domain loss then trains the
    content path to reveal the domain.

    The discriminator is referenced, not registered: the objective has no parameters.

    Args:
        discriminator: the model's domain discriminator.
        lambda_contrast: weight of ``contrast``.
        lambda_adv: weight of ``adv``.
        grl_gamma: steepness of :func:`~disentangle_fas.nn.grl_schedule`.
        released_grl: pass the content features to the discriminator without reversal.

    Example:
        >>> model = SSANR.from_config(SSANConfig(num_domains=2, depth=10), warn_random=False)
        >>> objective = SSANObjective.from_model(model)
        >>> y, d = torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
        >>> out = model(torch.rand(4, 3, 64, 64), shuffle_styles(4))
        >>> objective(out, y, d, progress=0.5).total.shape
        torch.Size([])
    """

    def __init__(
        self,
        discriminator: DomainClassifier,
        *,
        lambda_contrast: float = DEFAULT_LAMBDA_CONTRAST,
        lambda_adv: float = DEFAULT_LAMBDA_ADV,
        grl_gamma: float = DEFAULT_GRL_GAMMA,
        released_grl: bool = False,
    ) -> None:
        super().__init__()
        self._parts: tuple[DomainClassifier] = (discriminator,)
        self.lambda_contrast = float(lambda_contrast)
        self.lambda_adv = float(lambda_adv)
        check_finite(self, ("lambda_contrast", "lambda_adv"), positive=False)
        self.grl_gamma = float(grl_gamma)
        self.released_grl = bool(released_grl)

    @classmethod
    def from_model(cls, model: SSANR, config: SSANConfig | None = None) -> SSANObjective:
        """Build the objective for ``model`` with the loss settings of ``config``.

        Args:
            model: the SSAN-R model.
            config: defaults to ``model.config``.

        Returns:
            The objective.
        """
        cfg = config or model.config or SSANConfig(num_domains=model.discriminator.num_domains)
        return cls(model.discriminator, **cfg.settings_for(cls))

    @property
    def discriminator(self) -> DomainClassifier:
        """The domain discriminator."""
        return self._parts[0]

    def forward(
        self, output: SSANOutput, labels: Tensor, domains: Tensor, progress: float
    ) -> SSANTerms:
        """Compute the three terms and the weighted total.

        Args:
            output: the model's output for the batch, with a permutation
                (``model(images, perm)``).
            labels: ``(B,)`` 1 = live, 0 = spoof.
            domains: ``(B,)`` source-domain indices in ``[0, S)``.
            progress: training progress in ``[0, 1]``; sets the GRL coefficient.

        Returns:
            :class:`SSANTerms`.

        Raises:
            ValueError: the output has no cross-assembly, or malformed labels/domains.
        """
        if output.cross_assembled is None or output.perm is None:
            raise ValueError(
                "SSANObjective needs the cross-assembly: call model(images, perm) with a "
                "permutation (shuffle_styles)"
            )
        batch = output.logits.shape[0]
        check_labels("SSANObjective", labels, batch)
        check_index_vector("SSANObjective", "domains", domains, batch)
        disc = self._parts[0]
        cls_term = F.cross_entropy(output.logits, labels)
        signs = contrast_signs(labels, labels[output.perm])
        contrast = assembly_contrast_loss(output.self_assembled, output.cross_assembled, signs)
        coeff = self.grl_coeff(progress)
        content = output.content if self.released_grl else grad_reverse(output.content, coeff)
        adv = F.cross_entropy(disc(content), domains)
        total = cls_term + self.lambda_contrast * contrast + self.lambda_adv * adv
        return SSANTerms(total, cls_term, contrast, adv)
