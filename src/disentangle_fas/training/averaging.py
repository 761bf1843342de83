"""Weight averaging for stable checkpoint selection: an EMA or a SWAD-style dense average.

Once the source fit has converged, the target score of the raw weights swings from one
evaluation to the next, so which checkpoint an honest policy picks (lowest source
validation EER) decides much of the result. An average of the weights of many steps moves
slowly and lies in a flatter region of the loss, so consecutive evaluations agree better.

:class:`WeightAverage` wraps :class:`torch.optim.swa_utils.AveragedModel`:

* ``"ema"``: an exponential moving average, ``w̄ ← d·w̄ + (1 − d)·w`` after every step
  (``get_ema_multi_avg_fn(d)``); the first averaged step copies the weights.
* ``"swad"``: the uniform average of the weights after every step from the start step on,
  as in SWAD (Cha et al., "SWAD: Domain Generalization by Seeking Flat Minima",
  NeurIPS 2021). SWAD averages densely over a window chosen from the validation loss;
  here the window is simplified to ``[start, end of training]``, a fixed fraction of the
  run.

Both start after ``start_step`` optimizer steps (:meth:`WeightAverage.update` ignores the
steps before); until the first averaged step, :meth:`WeightAverage.evaluated` is the raw
model.

Batch-norm statistics: the running means and variances are averaged with the weights
(``use_buffers=True``), which keeps the average's state complete, but an average of the
statistics of many weights is not the statistics of the averaged weights: on deep
normalised backbones (EfficientNet) the mismatch saturates every score. So the model an
evaluation scores is a copy of the average whose batch-norm statistics are recomputed
(:func:`recalibrate_batchnorm`, as SWA and SWAD do with ``update_bn``) on a fixed set of
training images, chosen once per run from its seed: no batch is drawn from the training
stream, so a resumed run sees the same images. Integer buffers (batch norm's
``num_batches_tracked`` counter) are not averaged: they hold the latest value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

__all__ = ["WeightAverage", "average_start_step", "recalibrate_batchnorm"]

M = TypeVar("M", bound=nn.Module)

_MultiAvgFn = Callable[[Sequence[Tensor], Sequence[Tensor], Any], None]


def average_start_step(average_start: float, steps: int) -> int:
    """The optimizer steps done before the average starts: ``⌊average_start · steps⌋``.

    The first averaged weights are those after step ``average_start_step + 1``.
    """
    return math.floor(average_start * steps)


def _is_float(t: Tensor) -> bool:
    return torch.is_floating_point(t) or torch.is_complex(t)


def _floats_averaged(fn: _MultiAvgFn) -> _MultiAvgFn:
    """``fn`` for floating-point groups of tensors; integer groups take the newest value."""

    @torch.no_grad()
    def update(averaged: Sequence[Tensor], current: Sequence[Tensor], n: Any) -> None:
        if averaged and not _is_float(averaged[0]):
            for a, c in zip(averaged, current, strict=True):
                a.copy_(c)
            return
        fn(averaged, current, n)

    return update


@torch.no_grad()
def _uniform(averaged: Sequence[Tensor], current: Sequence[Tensor], n: Any) -> None:
    """The running arithmetic mean: ``w̄ ← w̄ + (w − w̄) / (n + 1)`` after ``n`` averaged."""
    torch._foreach_lerp_(list(averaged), list(current), 1.0 / (int(n) + 1))


class WeightAverage:
    """The averaged copy of a model, updated after every optimizer step.

    Args:
        model: the trained (unwrapped) model; copied once, here.
        kind: ``"ema"`` or ``"swad"``.
        decay: the EMA's decay ``d`` in ``(0, 1)`` (``"ema"`` only).
        start_step: optimizer steps done before the first averaged one.

    Attributes:
        averaged: the :class:`~torch.optim.swa_utils.AveragedModel`; its ``module`` holds the
            averaged weights and buffers, its ``n_averaged`` buffer the number of averaged
            steps. Both go into the training state (:meth:`state_module`).

    Raises:
        ValueError: an unknown ``kind``, ``decay`` outside ``(0, 1)`` or a negative
            ``start_step``.
    """

    def __init__(self, model: nn.Module, kind: str, *, decay: float, start_step: int) -> None:
        if kind not in ("ema", "swad"):
            raise ValueError(f"averaging must be ema or swad here, got {kind!r}")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema_decay must lie in (0, 1), got {decay}")
        if start_step < 0:
            raise ValueError(f"start_step must be at least 0, got {start_step}")
        self.kind = kind
        self.start_step = start_step
        fn: _MultiAvgFn = _uniform
        if kind == "ema":
            fn = cast(_MultiAvgFn, get_ema_multi_avg_fn(decay))  # type: ignore[no-untyped-call]
        self.averaged = AveragedModel(
            model,
            multi_avg_fn=_floats_averaged(fn),
            use_buffers=True,
        )
        self.averaged.module.requires_grad_(False)

    @property
    def count(self) -> int:
        """Steps averaged so far."""
        return int(self.averaged.n_averaged)

    def update(self, model: nn.Module, done: int) -> None:
        """Fold in ``model``'s weights after optimizer step ``done`` (counted from 1).

        Steps up to :attr:`start_step` are skipped.
        """
        if done > self.start_step:
            self.averaged.update_parameters(model)

    def evaluated(self, model: M, bn_images: Tensor | None = None, batch_size: int = 32) -> M:
        """What an evaluation scores and checkpoints: the averaged model once a step has
        been averaged, ``model`` (the raw weights) before.

        Args:
            model: the trained model (raw weights).
            bn_images: ``(N, 3, H, W)`` training images on the model's device: when given,
                the averaged model is a copy with its batch-norm statistics recomputed on
                them (:func:`recalibrate_batchnorm`); the average itself is not changed.
            batch_size: images per forward pass of the recalibration.
        """
        if self.count == 0:
            return model
        module = cast(M, self.averaged.module)
        if bn_images is None:
            return module
        return recalibrate_batchnorm(module, bn_images, batch_size)

    def state_module(self) -> nn.Module:
        """The module whose tensors make the average's resumable state (the averaged
        weights and buffers under ``module.``, the count as ``n_averaged``).
        """
        return self.averaged


def recalibrate_batchnorm(model: M, images: Tensor, batch_size: int = 32) -> M:
    """A copy of ``model`` in eval mode whose batch-norm running statistics are recomputed
    on ``images`` (the equal-weight average over batches of ``batch_size``, as
    :func:`torch.optim.swa_utils.update_bn` does); every other module stays in eval mode
    (no dropout), and torch's global random state is left as it was.

    Args:
        model: the model (not changed); a model without batch norm is returned as it is.
        images: ``(N, 3, H, W)`` inputs of ``model``'s ``forward``, on its device.
        batch_size: images per forward pass.

    Returns:
        The recalibrated copy, in eval mode.
    """
    if not any(isinstance(m, _BatchNorm) for m in model.modules()):
        return model
    clone = copy.deepcopy(model).eval()
    norms = [m for m in clone.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative: every batch weighs the same
        m.train()
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        for chunk in torch.split(images, batch_size):
            clone(chunk)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    return clone.eval()
