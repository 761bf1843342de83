"""Torch's intra-op thread count, set for a block of work and restored after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["one_torch_thread"]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with one torch thread, then restore the caller's count.

    One thread per process is both faster for small operations (thread-pool hand-offs
    dominate them) and reproducible: a run's floating-point reductions do not depend on
    how many threads or worker processes the machine gives it.

    Example:
        >>> with one_torch_thread():
        ...     torch.get_num_threads()
        1
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
