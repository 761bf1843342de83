"""GAC-FAS's training step: one ascent point per source domain, and the gradient of the
whole batch's loss at each, added to the ERM gradient.

With ``K`` source domains, weights ``w``, the per-domain losses ``L_k`` (summing to the
classification loss ``L``), their gradients ``g_k`` and ``g = sum_k g_k``, and the rest of
the objective ``R`` (SupCon), one step's gradient is

    eps_k = rho * T^2 g_k / ||T g_k|| - alpha * g
    G     = grad (L + R)(w) + (1 / K) * sum_k grad L(w + eps_k)

with ``T = |w| + eta`` on weight tensors and 1 elsewhere when ``adaptive`` (ASAM's scale;
``T = 1`` otherwise, SAM's ascent per domain), and ``||.||`` the norm over all parameters.
This is ``optimizers/gacfas.py`` of the official code (``get_perturb_norm``,
``ascent_step``, ``proxy_gradients``, ``sync_grad_step``) with three of its defects
removed: ``g_k`` is each domain's own gradient (the official ``accu_grad`` adds running
totals, so its third "domain gradient" is ``g_3 - g_1`` and its ``g`` is ``3 g_1 + 2 g_2 +
g_3``); every parameter takes part in the ascent (the official proxies are copied while
the backbone is frozen for the warm-up and stay frozen, so only the classifier gets a
gradient at the ascent points); and the ascent points reuse the model (the official proxy
call passes four arguments to a two-argument ``forward``). The weights and the
batch-norm statistics are restored after the ascent points (the official proxies are
copies whose statistics never reach the model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["ascent_directions", "gac_backward"]


def _grads(loss: Tensor, params: Sequence[nn.Parameter], *, retain: bool) -> list[Tensor]:
    found = torch.autograd.grad(loss, list(params), retain_graph=retain, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found, strict=True)]


def ascent_directions(
    names: Sequence[str],
    params: Sequence[Tensor],
    domain_grads: Sequence[Sequence[Tensor]],
    *,
    rho: float,
    alpha: float,
    eta: float = 0.0,
    adaptive: bool = True,
) -> list[list[Tensor]]:
    """Each domain's ascent ``eps_k = rho T^2 g_k / ||T g_k|| - alpha sum_j g_j``.

    Args:
        names: the parameters' names (``T = |w| + eta`` on those ending in ``weight``).
        params: the weights ``w``.
        domain_grads: ``g_k`` per domain, each a list like ``params``.
        rho: the ascent radius.
        alpha: the step against the ERM gradient ``sum_j g_j``.
        eta: the offset of the adaptive scale.
        adaptive: use ``T``; ``False``: ``T = 1``.

    Returns:
        ``eps_k`` per domain, each a list like ``params``.

    Example:
        >>> w = [torch.tensor([3.0, 4.0])]
        >>> ascent_directions(["bias"], w, [[torch.tensor([3.0, 4.0])]], rho=1.0, alpha=0.0)
        [[tensor([0.6000, 0.8000])]]
    """
    scales = [
        p.detach().abs() + eta if adaptive and n.endswith("weight") else None
        for n, p in zip(names, params, strict=True)
    ]
    erm = [torch.stack([gk[i] for gk in domain_grads]).sum(0) for i in range(len(params))]
    out = []
    for gk in domain_grads:
        scaled = [g if t is None else t * g for g, t in zip(gk, scales, strict=True)]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(s) for s in scaled]))
        factor = rho / (norm + 1e-16)
        out.append([
            (s if t is None else t * s) * factor - alpha * e
            for s, t, e in zip(scaled, scales, erm, strict=True)
        ])  # fmt: skip
    return out


def gac_backward(
    module: nn.Module,
    domain_losses: Tensor,
    total: Tensor,
    loss_at: Callable[[], Tensor],
    *,
    rho: float,
    alpha: float,
    eta: float = 0.0,
    adaptive: bool = True,
) -> list[list[Tensor]]:
    """Accumulate GAC-FAS's step gradient into the ``.grad`` of ``module``'s parameters.

    Args:
        module: the model; its trainable parameters are perturbed and restored, and its
            buffers (batch-norm statistics) are restored after the ascent points.
        domain_losses: ``(K,)`` the ``L_k`` at the current weights (one graph).
        total: the whole objective ``L + R`` at the current weights (same graph); its
            gradient is the ERM part of the step.
        loss_at: computes ``L`` on the same batch at the module's current weights (called
            once per domain with the weights at that domain's ascent point).
        rho: the ascent radius.
        alpha: the step against the ERM gradient in every ascent.
        eta: the offset of the adaptive scale.
        adaptive: use ``T = |w| + eta`` on weight tensors.

    Returns:
        The ascents ``eps_k`` used (for logs and tests).

    Raises:
        ValueError: ``domain_losses`` is not one-dimensional.
    """
    if domain_losses.ndim != 1:
        raise ValueError(
            f"gac_backward: domain_losses must be (K,), got {tuple(domain_losses.shape)}"
        )
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    names, params = [n for n, _ in named], [p for _, p in named]
    domain_grads = [_grads(loss, params, retain=True) for loss in domain_losses]
    total.backward()  # type: ignore[no-untyped-call]
    eps = ascent_directions(names, params, domain_grads, rho=rho, alpha=alpha, eta=eta,
                            adaptive=adaptive)  # fmt: skip
    weights = [p.detach().clone() for p in params]
    buffers = [b.detach().clone() for b in module.buffers()]
    ascent_grads: list[Tensor] = [torch.zeros_like(p) for p in params]
    try:
        for eps_k in eps:
            with torch.no_grad():
                for p, e in zip(params, eps_k, strict=True):
                    p.add_(e)
            for acc, g in zip(ascent_grads, _grads(loss_at(), params, retain=False), strict=True):
                acc.add_(g)
            with torch.no_grad():
                for p, w in zip(params, weights, strict=True):
                    p.copy_(w)
    finally:
        with torch.no_grad():
            for p, w in zip(params, weights, strict=True):
                p.copy_(w)
            for b, saved in zip(module.buffers(), buffers, strict=True):
                b.copy_(saved)
    with torch.no_grad():
        for p, g in zip(params, ascent_grads, strict=True):
            mean = g / len(eps)
            if p.grad is None:
                p.grad = mean
            else:
                p.grad.add_(mean)
    return eps
