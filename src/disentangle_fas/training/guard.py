"""Non-finite loss detection without a host synchronisation per step.

``bool(torch.isfinite(loss))`` makes the host wait for the device on every step, so the
next step cannot be queued while this one runs. :class:`NonFiniteGuard` instead keeps,
on the device, the first step whose loss was not finite; the loop reads it (one sync) only
where it syncs anyway or must know: at log steps, before every evaluation and checkpoint,
and at the end. A non-finite step therefore stops the run at the next such point, before
anything is written, so the last good checkpoint stays untouched.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["NonFiniteGuard"]


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
