"""Batches with equal live and spoof counts from every source domain (DDP-aware)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch.utils.data import Sampler

from disentangle_fas.data.balance import check_batch_size

__all__ = ["DomainBalancedBatchSampler", "check_batch_size"]


def _as_int_array(values: ArrayLike | torch.Tensor, name: str) -> NDArray[np.int64]:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    is_int = np.issubdtype(array.dtype, np.integer)
    if array.size and not is_int and not np.all(np.equal(np.mod(array, 1), 0)):
        raise ValueError(f"{name} must hold integers")
    return array.astype(np.int64)


class DomainBalancedBatchSampler(Sampler[list[int]]):
    """Each batch holds ``batch_size / (2 S)`` live and as many spoof samples per domain.

    For every batch and every ``(domain, label)`` group, indices are drawn from the group
    with a ``torch.Generator`` seeded by ``(seed, epoch)``: independently of other batches
    (so with replacement across batches), and without repeats inside one global batch
    whenever the group is large enough (otherwise with replacement). The number of
    batches per epoch is fixed (``len(sampler)``), whatever the group sizes.

    Batch order: domains in ``domain_ids`` order, and for each domain its live then its
    spoof samples.

    Distributed training: pass ``rank`` and ``world_size`` and use the same ``seed`` and
    ``set_epoch(epoch)`` on every rank. ``batch_size`` is the per-rank batch; all ranks draw
    the same global batch of ``batch_size * world_size`` indices (``world_size`` times as
    many per group) and rank ``r`` takes the ``r``-th slice of every group. So every rank's
    batch is balanced, the ranks' shares are disjoint parts of one global batch (disjoint
    indices whenever each group holds at least ``batch_size * world_size / (2 S)``
    samples), and the concatenated shares equal the batch a single process with
    ``batch_size * world_size`` would draw. Use it as ``DataLoader(dataset,
    batch_sampler=sampler)`` (not with ``DistributedSampler``).

    Args:
        labels: per-index label (1 live, 0 spoof).
        domains: per-index domain id.
        batch_size: samples per batch and rank, divisible by ``2 * S``.
        num_batches: batches per epoch; default ``ceil(N / (batch_size * world_size))``.
        domain_ids: the source domains ``S`` (default: the distinct values of ``domains``);
            indices of other domains are never drawn.
        seed: base seed.
        rank: this process's rank.
        world_size: number of processes.

    Raises:
        ValueError: mismatched lengths, labels other than 0/1, ``batch_size`` not divisible
            by ``2 * S``, an empty ``(domain, label)`` group, bad rank / world size.
    """

    def __init__(
        self,
        labels: ArrayLike | torch.Tensor,
        domains: ArrayLike | torch.Tensor,
        batch_size: int,
        *,
        num_batches: int | None = None,
        domain_ids: Sequence[int] | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        lab = _as_int_array(labels, "labels")
        dom = _as_int_array(domains, "domains")
        if lab.shape != dom.shape:
            raise ValueError(f"labels ({lab.size}) and domains ({dom.size}) differ in length")
        if lab.size == 0:
            raise ValueError("the dataset is empty")
        if not np.isin(lab, (0, 1)).all():
            raise ValueError("labels must be 1 (live) or 0 (spoof)")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, {world_size=}")
        ids = sorted(set(dom.tolist())) if domain_ids is None else [int(d) for d in domain_ids]
        if len(set(ids)) != len(ids) or not ids:
            raise ValueError(f"domain_ids must be distinct and non-empty, got {ids}")
        check_batch_size(batch_size, len(ids))
        self.groups: list[tuple[int, int, NDArray[np.int64]]] = []
        for d in ids:
            for label, name in ((1, "live"), (0, "spoof")):
                members = np.flatnonzero((dom == d) & (lab == label)).astype(np.int64)
                if members.size == 0:
                    raise ValueError(
                        f"domain {d} has no {name} (label {label}) samples: every source domain "
                        "needs both live and spoof samples"
                    )
                self.groups.append((d, label, members))
        if num_batches is not None and num_batches < 1:
            raise ValueError(f"num_batches must be >= 1, got {num_batches}")
        self.batch_size = batch_size
        self.per_group = batch_size // (2 * len(ids))
        self.domain_ids = ids
        self.num_batches = num_batches or max(1, math.ceil(lab.size / (batch_size * world_size)))
        self.seed = int(seed)
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    @classmethod
    def from_dataset(
        cls, dataset: Any, batch_size: int, **kwargs: Any
    ) -> DomainBalancedBatchSampler:
        """Build from a dataset exposing ``labels`` and ``domains`` (or ``records``).

        Args:
            dataset: has per-index ``labels`` and ``domains`` arrays, or a ``records``
                list whose items have ``label`` and ``domain`` (names are indexed in sorted
                order).
            batch_size: see the class.
            **kwargs: other constructor arguments.

        Returns:
            The sampler.

        Raises:
            TypeError: the dataset exposes neither.
        """
        if hasattr(dataset, "labels") and hasattr(dataset, "domains"):
            return cls(dataset.labels, dataset.domains, batch_size, **kwargs)
        if hasattr(dataset, "records"):
            recs = list(dataset.records)
            names = [r.domain for r in recs]
            if all(isinstance(n, str) for n in names):  # domain names -> sorted indices
                index = {n: i for i, n in enumerate(sorted(set(names)))}
                names = [index[n] for n in names]
            return cls([r.label for r in recs], names, batch_size, **kwargs)
        raise TypeError(
            f"{type(dataset).__name__} exposes neither labels/domains arrays nor records: "
            "pass labels and domains to DomainBalancedBatchSampler directly"
        )

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch (same value on every rank) so each epoch draws new batches."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_batches

    def _generator(self) -> torch.Generator:
        mixed = (self.seed * 1_000_003 + self.epoch * 7_919 + 12_345) % (2**63 - 1)
        return torch.Generator().manual_seed(mixed)

    @staticmethod
    def _draw(n: int, k: int, gen: torch.Generator) -> list[int]:
        """``k`` positions in ``range(n)``: distinct when ``n >= k``."""
        if n < k:
            return [int(v) for v in torch.randint(n, (k,), generator=gen).tolist()]
        if n <= 4 * k:
            return [int(v) for v in torch.randperm(n, generator=gen)[:k].tolist()]
        chosen: list[int] = []
        seen: set[int] = set()
        while len(chosen) < k:
            for v in torch.randint(n, (k - len(chosen),), generator=gen).tolist():
                if v not in seen:
                    seen.add(v)
                    chosen.append(int(v))
        return chosen

    def __iter__(self) -> Iterator[list[int]]:
        gen = self._generator()
        k = self.per_group
        total = k * self.world_size
        lo, hi = self.rank * k, (self.rank + 1) * k
        for _ in range(self.num_batches):
            batch: list[int] = []
            for _, _, members in self.groups:
                positions = self._draw(members.size, total, gen)[lo:hi]
                batch.extend(int(members[p]) for p in positions)
            yield batch
