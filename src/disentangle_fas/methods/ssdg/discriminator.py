"""SSDG's single-side domain discriminator.

It classifies the source domain of REAL faces only, through a gradient reversal layer, so
that the generator makes real faces of all domains indistinguishable while fake faces keep
their domain structure.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from disentangle_fas.checks import check_features, check_index_vector, check_labels
from disentangle_fas.nn import GradientReversal

__all__ = [
    "DEFAULT_DISCRIMINATOR_DROPOUT",
    "DEFAULT_DISCRIMINATOR_HIDDEN",
    "DiscriminatorOutput",
    "SingleSideDiscriminator",
    "select_real",
    "single_side_domain_loss",
]

#: Hidden width of the official discriminator (``models/DGFAS.py``, ``Discriminator``:
#: ``Linear(512, 512)``, ReLU, ``Dropout(0.5)``, ``Linear(512, 3)``).
DEFAULT_DISCRIMINATOR_HIDDEN = 512
#: Dropout of the official discriminator's hidden layer.
DEFAULT_DISCRIMINATOR_DROPOUT = 0.5


class DiscriminatorOutput(NamedTuple):
    """What the single-side discriminator returns for one batch.

    Attributes:
        logits: ``(R, S)`` domain logits of the ``R`` real samples (``R`` may be 0).
        domains: ``(R,)`` the domain labels of those samples, the targets for ``logits``.
        rows: ``(R,)`` their positions in the batch.
    """

    logits: Tensor
    domains: Tensor
    rows: Tensor


def select_real(features: Tensor, labels: Tensor, domains: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Pick the rows of real (live) samples.

    Args:
        features: ``(B, d)``.
        labels: ``(B,)`` 1 = live, 0 = spoof.
        domains: ``(B,)`` domain indices.

    Returns:
        ``(features[real], domains[real], rows)`` with ``rows`` the ``(R,)`` positions of
        the real rows, in batch order, all on ``features.device``. Gradients flow back to
        the selected rows only.

    Raises:
        TypeError, ValueError: malformed inputs.

    Shape:
        - Input: ``(B, d)``, ``(B,)``, ``(B,)``; output ``(R, d)``, ``(R,)``, ``(R,)``.
    """
    check_features("select_real", features)
    check_labels("select_real", labels, features.shape[0])
    check_index_vector("select_real", "domains", domains, features.shape[0])
    rows = torch.nonzero(labels == 1, as_tuple=False).flatten().to(features.device)
    real_domains = domains.to(features.device).index_select(0, rows)
    return features.index_select(0, rows), real_domains, rows


def single_side_domain_loss(logits: Tensor, domains: Tensor) -> Tensor:
    """Domain cross-entropy on the real subset, mean over its samples.

    A batch without real samples gives ``logits`` of shape ``(0, S)``; the loss is then an
    exact zero that is still part of the autograd graph (``logits.sum()``), so
    ``loss.backward()`` works and every gradient it produces is zero.

    Args:
        logits: ``(R, S)`` from :class:`SingleSideDiscriminator`.
        domains: ``(R,)`` integer targets in ``[0, S)``.

    Returns:
        Scalar tensor.

    Shape:
        - logits ``(R, S)``, domains ``(R,)``; output ``()``.
    """
    if logits.ndim != 2:
        raise ValueError(f"single_side_domain_loss: expected (R, S) logits, got {logits.shape}")
    check_index_vector("single_side_domain_loss", "domains", domains, logits.shape[0])
    if logits.shape[0] == 0:
        return logits.sum()
    if int(domains.max()) >= logits.shape[1]:
        raise ValueError(
            f"single_side_domain_loss: domains must lie in [0, {logits.shape[1]}), got "
            f"a maximum of {int(domains.max())}"
        )
    return F.cross_entropy(logits, domains)


class SingleSideDiscriminator(nn.Module):
    """Domain discriminator fed only the real faces' features, through a GRL.

    ``forward`` selects the real rows (label 1), reverses their gradient with
    :class:`~disentangle_fas.nn.GradientReversal` and classifies their source domain
    with an MLP (official: ``Linear(d, 512)``, ReLU, ``Dropout(0.5)``, ``Linear(512, S)``;
    weights initialised ``N(0, 0.01)`` and ``N(0, 0.3)``, biases 0, as in the official
    ``models/DGFAS.py``). Fake rows never enter it, so their features get no adversarial
    gradient. Minimising :meth:`loss` trains the MLP to recognise the domain; thanks to the
    GRL the same backward pass trains the feature generator to hide it.

    Args:
        in_features: feature dimension ``d``.
        num_domains: number of source domains ``S`` (>= 2).
        hidden: hidden width; ``None`` for a single linear layer.
        dropout: dropout probability of the hidden layer.
        coeff: initial GRL coefficient (see :func:`~disentangle_fas.nn.grl_schedule`);
            also settable as ``disc.grl.coeff`` or per call.

    Attributes:
        grl: the gradient reversal layer.
        net: the MLP.

    Shape:
        - Input: features ``(B, d)``, labels ``(B,)``, domains ``(B,)``.
        - Output: :class:`DiscriminatorOutput` with ``(R, S)`` logits, ``R`` = number of
          real samples.

    Example:
        >>> disc = SingleSideDiscriminator(8, 3)
        >>> f = torch.randn(4, 8)
        >>> out = disc(f, torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 2, 2]))
        >>> out.logits.shape, out.domains.tolist()
        (torch.Size([2, 3]), [0, 2])
    """

    def __init__(
        self,
        in_features: int,
        num_domains: int,
        hidden: int | None = DEFAULT_DISCRIMINATOR_HIDDEN,
        *,
        dropout: float = DEFAULT_DISCRIMINATOR_DROPOUT,
        coeff: float = 1.0,
    ) -> None:
        super().__init__()
        if in_features <= 0:
            raise ValueError(f"in_features must be positive, got {in_features}")
        if num_domains < 2:
            raise ValueError(f"a domain discriminator needs at least 2 domains, got {num_domains}")
        if hidden is not None and hidden <= 0:
            raise ValueError(f"hidden must be positive or None, got {hidden}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.in_features = in_features
        self.num_domains = num_domains
        self.grl = GradientReversal(coeff)
        if hidden is None:
            out = nn.Linear(in_features, num_domains)
            self.net: nn.Module = out
        else:
            first = nn.Linear(in_features, hidden)
            nn.init.normal_(first.weight, 0.0, 0.01)
            nn.init.zeros_(first.bias)
            out = nn.Linear(hidden, num_domains)
            self.net = nn.Sequential(first, nn.ReLU(), nn.Dropout(dropout), out)
        nn.init.normal_(out.weight, 0.0, 0.3)
        nn.init.zeros_(out.bias)

    def forward(
        self, features: Tensor, labels: Tensor, domains: Tensor, coeff: float | None = None
    ) -> DiscriminatorOutput:
        """Classify the domains of the real samples.

        Args:
            features: ``(B, d)`` features of the whole batch.
            labels: ``(B,)`` 1 = live, 0 = spoof; only live rows are used.
            domains: ``(B,)`` domain indices in ``[0, num_domains)``.
            coeff: GRL coefficient for this call; the module's ``grl.coeff`` if ``None``.

        Returns:
            :class:`DiscriminatorOutput`.

        Raises:
            TypeError, ValueError: malformed inputs, or a domain outside ``[0, S)``.
        """
        check_features("SingleSideDiscriminator", features)
        if features.shape[1] != self.in_features:
            raise ValueError(
                f"SingleSideDiscriminator: expected {self.in_features} features, got "
                f"{features.shape[1]}"
            )
        check_index_vector("SingleSideDiscriminator", "domains", domains, features.shape[0])
        if domains.numel() and int(domains.max()) >= self.num_domains:
            raise ValueError(
                f"SingleSideDiscriminator: domains must lie in [0, {self.num_domains}), got "
                f"a maximum of {int(domains.max())}"
            )
        real, real_domains, rows = select_real(features, labels, domains)
        logits: Tensor = self.net(self.grl(real, coeff))
        return DiscriminatorOutput(logits, real_domains, rows)

    def loss(
        self, features: Tensor, labels: Tensor, domains: Tensor, coeff: float | None = None
    ) -> Tensor:
        """Single-side adversarial loss: :func:`single_side_domain_loss` of :meth:`forward`.

        Args:
            features: ``(B, d)``.
            labels: ``(B,)`` 1 = live, 0 = spoof.
            domains: ``(B,)`` domain indices.
            coeff: GRL coefficient for this call.

        Returns:
            Scalar tensor; a zero with a graph when the batch has no real sample.
        """
        out = self(features, labels, domains, coeff)
        return single_side_domain_loss(out.logits, out.domains)
