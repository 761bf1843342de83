"""Divergence checks at evaluation time: non-finite weights or scores end the run as a
:class:`~disentangle_fas.errors.NonFiniteLossError`, before any checkpoint is written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from disentangle_fas.errors import NonFiniteLossError

__all__ = ["check_finite_model", "evaluate_finite", "non_finite_tensors"]

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
