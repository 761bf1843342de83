"""Random streams derived from a run's seed: :func:`derive_seed`, the one rule for every
generator that is not torch's global one (the loop's flips, a method's augmented views).
"""

from __future__ import annotations

import hashlib

__all__ = ["LEGACY_STREAMS", "derive_seed"]

#: Streams whose rank-0 seed keeps the value it had before :func:`derive_seed` existed,
#: ``seed * 7919 + k``, so that recorded results stay bit-identical.
LEGACY_STREAMS: dict[str, int] = {"aug": 0, "views": 1}


def derive_seed(seed: int, stream: str, rank: int = 0) -> int:
    """The seed of random stream ``stream`` on process ``rank`` of a run seeded ``seed``.

    Distinct ``(stream, rank)`` pairs get distinct, unrelated seeds: a hash of the three
    (BLAKE2b, 63 bits). The library's first two streams on rank 0 keep their historical
    value ``seed * 7919 + k`` (:data:`LEGACY_STREAMS`); on every other rank they are hashed
    like any stream, so no rank's stream repeats another's (before, rank 1's flips used the
    seed of rank 0's views).

    Args:
        seed: the run's seed (``--seed``).
        stream: the stream's name (``"aug"``, ``"views"``, a method's own).
        rank: the process's rank (0 without DDP).

    Returns:
        A non-negative integer for ``torch.Generator().manual_seed``.

    Raises:
        ValueError: an empty stream name or a negative rank.

    Example:
        >>> derive_seed(0, "views")
        1
        >>> derive_seed(0, "views", rank=1) != derive_seed(0, "aug", rank=1)
        True
    """
    if not stream:
        raise ValueError("a random stream needs a non-empty name")
    if rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    if rank == 0 and stream in LEGACY_STREAMS:
        return seed * 7919 + LEGACY_STREAMS[stream]
    digest = hashlib.blake2b(f"{seed}/{stream}/{rank}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
