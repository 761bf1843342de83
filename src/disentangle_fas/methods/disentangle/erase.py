"""The ``erase="leace"`` post-training step: erase the domain from f_L with LEACE fitted on
source-training features, then refit C_L on the erased features.

The step runs on a copy of the model the harness is about to score and save (the trained
weights, or their average), so training continues from weights it never changed; the copy's
eraser (:class:`~disentangle_fas.losses.LeaceErasure`) sits between E_L and C_L on its
inference path and is saved with it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.func import functional_call

from disentangle_fas.heads import LMCLHead
from disentangle_fas.losses.erasure import LeaceFit, fit_leace
from disentangle_fas.losses.lmcl import lmcl_loss
from disentangle_fas.methods.disentangle.model import DisentangledFAS
from disentangle_fas.nn import pool

__all__ = ["SourceBatches", "erase_and_refit", "liveness_features", "refit_liveness_head"]

#: ``batches()`` iterates ``(images (B, 3, H, W) in [0, 1], labels (B,), domains (B,))`` of
#: the source-training set, on the model's device, in an order fixed by the run's seed.
SourceBatches = Callable[[], Iterable[tuple[Tensor, Tensor, Tensor]]]

#: Adam's learning rate when C_L is refit on erased features (ours).
REFIT_LR = 0.01


@torch.no_grad()
def liveness_features(
    model: DisentangledFAS, batches: SourceBatches, max_images: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Pooled E_L features (before any eraser), labels and domains of the first
    ``max_images`` images of ``batches()``, with the model in eval mode.

    Returns:
        ``(n, d)`` features, ``(n,)`` labels, ``(n,)`` domains.

    Raises:
        ValueError: fewer than 2 images.
    """
    was_training = model.training
    model.eval()
    feats: list[Tensor] = []
    labels: list[Tensor] = []
    domains: list[Tensor] = []
    seen = 0
    try:
        for images, y, d in batches():
            take = min(len(images), max_images - seen)
            f = model.encoders.liveness(model.normalize(images[:take]))
            feats.append(pool(f).float())
            labels.append(y[:take])
            domains.append(d[:take])
            seen += take
            if seen >= max_images:
                break
    finally:
        model.train(was_training)
    if seen < 2:
        raise ValueError(f"erase: needs at least 2 source-training images, got {seen}")
    return torch.cat(feats), torch.cat(labels), torch.cat(domains)


def refit_liveness_head(head: LMCLHead, features: Tensor, labels: Tensor, steps: int) -> float:
    """Refit C_L's weights on fixed features: full-batch Adam on the LMCL loss (eq. 5),
    from the head's current weights.

    Args:
        head: C_L (its ``weight`` changes in place).
        features: ``(n, d)`` features.
        labels: ``(n,)`` liveness labels.
        steps: optimizer steps (0 leaves the head as it is).

    Returns:
        The final LMCL loss.
    """
    x, y = features.detach(), labels.long()
    # Fresh leaves: the head may belong to an averaged copy whose parameters have
    # requires_grad off.
    params = {n: p.detach().clone().requires_grad_(True) for n, p in head.named_parameters()}
    opt = torch.optim.Adam(list(params.values()), lr=REFIT_LR)

    def loss() -> Tensor:
        cosine = functional_call(head, params, (x,))
        return lmcl_loss(cosine, y, scale=head.scale, margin=head.margin)

    with torch.enable_grad():
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss().backward()  # type: ignore[no-untyped-call]
            opt.step()
    with torch.no_grad():
        for name, p in head.named_parameters():
            p.copy_(params[name])
        return float(loss())


def erase_and_refit(model: DisentangledFAS, batches: SourceBatches) -> DisentangledFAS:
    """A copy of ``model`` whose eraser is LEACE fitted to remove the source domain from
    f_L, with C_L refit on the erased features (the model's ``erase_*`` settings).

    Args:
        model: a model built with ``erase="leace"`` (it has an eraser).
        batches: the source-training set (:data:`SourceBatches`).

    Returns:
        The copy, in ``model``'s training mode; ``model`` is unchanged.

    Raises:
        ValueError: the model has no eraser or no config.
        ImportError: ``concept-erasure`` is missing.
    """
    if model.eraser is None or model.config is None:
        raise ValueError("erase_and_refit: the model was not built with erase='leace'")
    cfg = model.config
    out = copy.deepcopy(model)
    feats, labels, domains = liveness_features(out, batches, cfg.erase_max_images)
    fit: LeaceFit = fit_leace(feats.double(), domains, cfg.num_domains)  # kept in float64
    assert out.eraser is not None
    out.eraser.load_fit(fit)
    erased = out.eraser(feats)
    refit_liveness_head(out.liveness_head, erased, labels, cfg.erase_refit_steps)
    return out
