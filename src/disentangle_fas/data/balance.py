"""The batch-balance rule, without torch: a batch holds equal live and spoof counts from
every source domain (checked before any work, used by the sampler).
"""

from __future__ import annotations

__all__ = ["check_batch_size"]


def check_batch_size(batch_size: int, num_domains: int, task: str = "") -> None:
    """Refuse a batch that cannot hold equal live and spoof counts from every domain.

    Args:
        batch_size: images per batch.
        num_domains: source domains the batch is balanced over.
        task: the task's name, for the message.

    Raises:
        ValueError: ``batch_size`` is not a positive multiple of ``2 * num_domains``; the
            message names the nearest batch size that fits.
    """
    groups = 2 * num_domains
    if batch_size < groups or batch_size % groups:
        fits = groups * max(1, round(batch_size / groups))
        where = f" for task {task}" if task else ""
        raise ValueError(
            f"batch_size {batch_size} does not fit{where}: every batch holds equal live and "
            f"spoof counts from each of {num_domains} source domains, so it must be a "
            f"positive multiple of {groups} (e.g. {fits})"
        )
