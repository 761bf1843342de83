"""Divergence checks: every way a run can diverge ends as a
:class:`~disentangle_fas.errors.NonFiniteLossError`, before any checkpoint is written.

* Losses, per step, without a host synchronisation per step (:class:`NonFiniteGuard`):
  ``bool(torch.isfinite(loss))`` would make the host wait for the device on every step,
  so the next step could not be queued while this one runs. The guard keeps, on the
  device, the first step whose loss was not finite; the loop reads it (one sync) only where
  it syncs anyway or must know: at log steps, before every evaluation and checkpoint, and
  at the end. A non-finite step therefore stops the run at the next such point.
* Weights, buffers and scores, at evaluation (:func:`check_finite_model`,
  :func:`evaluate_finite`): a diverged model whose loss still looks finite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor, nn

from disentangle_fas.errors import NonFiniteLossError

__all__ = ["NonFiniteGuard", "check_finite_model", "evaluate_finite", "non_finite_tensors"]

T = TypeVar("T")


def non_finite_tensors(model: nn.Module) -> list[str]:
    """Names of the floating-point parameters and buffers holding NaN or infinite values."""
    return [
        name
        for name, value in model.state_dict().items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]


def _last_good(state: Path | None) -> str:
    if state is not None and state.exists():
        return f"The last good checkpoint ({state}) is untouched"
    return "No checkpoint was written yet"


def check_finite_model(model: nn.Module, step: int, state: Path | None = None) -> None:
    """Raise if any weight or buffer of ``model`` is NaN or infinite.

    Args:
        model: the model about to be evaluated and checkpointed.
        step: the current step (for the message).
        state: the run's last training state (named in the message).

    Raises:
        NonFiniteLossError: some tensor is not finite.
    """
    bad = non_finite_tensors(model)
    if bad:
        raise NonFiniteLossError(
            f"non-finite weights at step {step} ({len(bad)} tensors, e.g. {bad[0]}) while the "
            f"loss was finite. {_last_good(state)}; lower lr or loss weights, or check the data."
        )


def evaluate_finite(evaluate: Callable[[], T], step: int, state: Path | None = None) -> T:
    """Run ``evaluate()``; NaN or infinite scores become a :class:`NonFiniteLossError`.

    The metrics refuse non-finite scores with a ValueError whose message says
    ``NaN or infinite``; that refusal is what is translated here.

    Args:
        evaluate: the evaluation to run.
        step: the current step (for the message).
        state: the run's last training state (named in the message).

    Returns:
        What ``evaluate`` returns.

    Raises:
        NonFiniteLossError: the scores were not finite.
    """
    try:
        return evaluate()
    except ValueError as exc:
        if "NaN or infinite" not in str(exc):
            raise
        raise NonFiniteLossError(
            f"non-finite scores at the evaluation of step {step} ({exc}). {_last_good(state)}; "
            "lower lr or loss weights, or check the data."
        ) from exc


class NonFiniteGuard:
    """Remembers, on the device, the first step whose loss was NaN or infinite.

    Args:
        device: where the losses live.

    Example:
        >>> guard = NonFiniteGuard(torch.device("cpu"))
        >>> guard.update(torch.tensor(1.0), step=0)
        >>> guard.update(torch.tensor(float("nan")), step=1)
        >>> guard.update(torch.tensor(2.0), step=2)
        >>> guard.first_bad()
        1
    """

    def __init__(self, device: torch.device) -> None:
        self._first = torch.full((), -1, dtype=torch.int64, device=device)

    def update(self, loss: Tensor, step: int) -> None:
        """Record ``step`` if ``loss`` is not finite and no earlier step was (no sync).

        Args:
            loss: the step's loss (any shape; one non-finite element counts).
            step: the step number.
        """
        bad = ~torch.isfinite(loss.detach()).all()
        self._first = torch.where(bad & (self._first < 0), step, self._first)

    def first_bad(self) -> int | None:
        """The first recorded non-finite step, or ``None`` (waits for the device).

        Returns:
            The step number given to :meth:`update`, or ``None`` when every loss so far
            was finite.
        """
        first = int(self._first)
        return None if first < 0 else first
