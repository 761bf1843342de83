"""The training input pipeline: from the batch sampler to ready tensors on the device.

Host side (``DataLoader`` workers, or the main process with ``num_workers=0``), one read
per batch:

* datasets with a uint8 batch reader (``read_batch(indices, dtype=torch.uint8)`` and
  ``reads_uint8``: a training store, an :class:`~disentangle_fas.training.data.IndexedSubset`
  of one, the synthetic benchmark's tasks) give the stored 0-255 pixels, a quarter of the
  bytes of float32 and no conversion on the CPU; other datasets are read sample by sample
  and collated (float32), as before;
* index-based content targets are read with the batch: the stored rows and filled flags of
  a :class:`~disentangle_fas.targets.TargetCache`, or a
  :class:`~disentangle_fas.targets.PrecomputedTarget`'s rows;
* on CUDA the loader pins the batch, so the copies below are asynchronous.

Device side (main process), :class:`DeviceBatches`: a non-blocking copy, the conversion to
float32 (bit-identical to the datasets' own, as :func:`~disentangle_fas.data.uint8_to_float`),
the dataset's ``batch_transform`` (a store task's resize), the content teacher on the
device for the rows that have no stored target (a cache stores them: lazy filling on the
device), and the horizontal flips of image and target, one coin per image drawn from the
loop's generator (the same random stream as before this pipeline).

One ``DataLoader`` iterator serves the whole run (:class:`EpochBatches` walks the epochs),
so its worker processes start once and persist across epochs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from disentangle_fas.data.sampler import DomainBalancedBatchSampler
from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.targets.cache import CacheReader, TargetCache
from disentangle_fas.targets.precomputed import PrecomputedTarget
from disentangle_fas.types import FASSample

__all__ = [
    "BatchReads",
    "DeviceBatch",
    "DeviceBatches",
    "EpochBatches",
    "HostBatch",
    "TrainInputs",
    "configure_device",
    "reads_uint8",
]


class HostBatch(NamedTuple):
    """One batch as the loader delivers it (CPU, pinned on CUDA).

    Attributes:
        sample: the batched samples; ``image`` uint8 or float32 ``(B, 3, H, W)``.
        target: index-based content targets read with the batch, or ``None``.
        filled: for a target cache, ``(B,)`` bool, ``True`` where ``target`` holds the
            stored value; ``None`` when every row of ``target`` is valid.
    """

    sample: FASSample
    target: Tensor | None
    filled: Tensor | None


class DeviceBatch(NamedTuple):
    """One training batch on the device, ready for the model.

    Attributes:
        images: float32 in ``[0, 1]``, transformed and flipped.
        labels: ``(B,)`` int64.
        domains: ``(B,)`` int64.
        target: the content targets, flipped with their images, or ``None``.

    Shape:
        - images: ``(B, 3, H, W)``; target: ``(B, C, H', W')``.
    """

    images: Tensor
    labels: Tensor
    domains: Tensor
    target: Tensor | None


def reads_uint8(dataset: object) -> bool:
    """Whether ``dataset`` can give whole uint8 batches (``read_batch(..., dtype=uint8)``).

    Args:
        dataset: any dataset.

    Returns:
        ``True`` when it has a ``read_batch`` method and no per-sample transform (or says
        so through a ``reads_uint8`` attribute).
    """
    if not callable(getattr(dataset, "read_batch", None)):
        return False
    flag = getattr(dataset, "reads_uint8", None)
    if flag is not None:
        return bool(flag)
    return getattr(dataset, "transform", None) is None


class EpochBatches(Sampler[list[int]]):
    """The batch sampler's batches, epoch after epoch without end, from global batch ``start``.

    ``set_epoch(e)`` is called on the inner sampler before epoch ``e``, so the batches are
    those of a fresh per-epoch loop; resuming at ``start`` skips the batches already used.

    Args:
        inner: the per-epoch batch sampler.
        start: the first global batch (``epoch * len(inner) + offset``).
    """

    def __init__(self, inner: DomainBalancedBatchSampler, start: int = 0) -> None:
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        self.inner, self.start = inner, int(start)

    def __iter__(self) -> Iterator[list[int]]:
        epoch, skip = divmod(self.start, len(self.inner))
        while True:
            self.inner.set_epoch(epoch)
            yield from itertools.islice(iter(self.inner), skip, None)
            epoch, skip = epoch + 1, 0


class BatchReads(Dataset[HostBatch]):
    """A ``DataLoader`` dataset whose item ``indices`` is one whole :class:`HostBatch`.

    Args:
        dataset: the training samples.
        content: the content target provider; index-based ones (a
            :class:`~disentangle_fas.targets.TargetCache`, a
            :class:`~disentangle_fas.targets.PrecomputedTarget`) are read here.
    """

    def __init__(self, dataset: Dataset[FASSample], content: TargetProvider | None = None) -> None:
        self.dataset = dataset
        self.uint8 = reads_uint8(dataset)
        self._cache: CacheReader | None = None
        self._table: PrecomputedTarget | None = None
        if isinstance(content, TargetCache):
            self._cache = content.reader()
        elif isinstance(content, PrecomputedTarget):
            self._table = content

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, indices: Sequence[int]) -> HostBatch:
        """Read the batch ``indices`` (positions in ``dataset``) and its stored targets."""
        if self.uint8:
            sample: FASSample = self.dataset.read_batch(indices, dtype=torch.uint8)  # type: ignore[attr-defined]
        else:
            getitems = getattr(self.dataset, "__getitems__", None)
            items = getitems(list(indices)) if callable(getitems) else [
                self.dataset[int(i)] for i in indices
            ]  # fmt: skip
            sample = default_collate(items)
        index = torch.as_tensor(sample.index)
        target, filled = None, None
        if self._cache is not None:
            target, filled = self._cache.read(index)
        elif self._table is not None:
            target = self._table.lookup(index)
        return HostBatch(sample, target, filled)


def configure_device(device: torch.device) -> None:
    """Process-wide settings for training on ``device``: cuDNN autotuning on CUDA.

    Args:
        device: the training device.
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


class DeviceBatches:
    """Training batches on the device, forever (see the module docstring).

    Args:
        dataset: the training samples.
        sampler: the per-epoch batch sampler.
        device: the training device.
        start: the first global batch (for resuming).
        num_workers: ``DataLoader`` worker processes (0: read in this process).
        content: the content target provider, or ``None`` (no targets).
        hflip: flip each image and its target with probability 1/2.
        generator: the CPU generator of the flips (one ``torch.rand(B)`` per batch).
        channels_last: hand the images over channels-last (else contiguous NCHW).

    Raises:
        ValueError: ``hflip`` without a generator.
    """

    def __init__(
        self,
        dataset: Dataset[FASSample],
        sampler: DomainBalancedBatchSampler,
        device: torch.device,
        *,
        start: int = 0,
        num_workers: int = 0,
        content: TargetProvider | None = None,
        hflip: bool = False,
        generator: torch.Generator | None = None,
        channels_last: bool = False,
    ) -> None:
        if hflip and generator is None:
            raise ValueError("hflip needs a generator")
        self.device = device
        self.content = content
        self.hflip, self.generator = hflip, generator
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        transform: Callable[[Tensor], Tensor] | None = getattr(dataset, "batch_transform", None)
        self.transform = transform
        self.reads = BatchReads(dataset, content)
        self.pinned = device.type == "cuda"
        # The loader draws its workers' base seed when its iterator starts: from a generator
        # of its own, so that starting it (at step 0, or at the step a run resumes from)
        # leaves torch's global stream, which dropout and the methods draw from, untouched.
        loader_seed = generator.initial_seed() if generator is not None else 0
        self.loader: DataLoader[HostBatch] = DataLoader(
            self.reads,
            sampler=EpochBatches(sampler, start),
            batch_size=None,
            num_workers=num_workers,
            pin_memory=self.pinned,
            generator=torch.Generator().manual_seed(loader_seed),
        )
        self._batches: Iterator[HostBatch] | None = None

    def __iter__(self) -> Iterator[DeviceBatch]:
        return self

    def __next__(self) -> DeviceBatch:
        if self._batches is None:
            self._batches = iter(self.loader)
        return self.to_device(next(self._batches))

    def close(self) -> None:
        """Stop the loader's worker processes now (a later ``next`` starts them again).

        The workers are shut down explicitly rather than when the iterator is collected:
        after Ctrl-C or an error, the traceback's frames keep the iterator alive.
        """
        batches, self._batches = self._batches, None
        shutdown = getattr(batches, "_shutdown_workers", None)
        if callable(shutdown):
            shutdown()

    def _copy(self, tensor: Tensor) -> Tensor:
        return tensor.to(self.device, non_blocking=True)

    def _rows(self, mask: Tensor) -> Tensor:
        """The positions where the CPU ``mask`` is true, on the device (no sync)."""
        rows = torch.nonzero(mask).flatten()
        return self._copy(rows.pin_memory() if self.pinned else rows)

    def _flip_rows(self, pixels: Tensor, coins: Tensor) -> None:
        """Flip the rows of ``pixels`` where the CPU ``coins`` are true, in place."""
        if self.device.type == "cpu":  # per image: indexed writes of channels-last uint8
            for r in torch.nonzero(coins).flatten().tolist():  # are ~20x slower on the CPU
                pixels[r].copy_(pixels[r].flip(-1))
        else:
            rows = self._rows(coins)
            pixels[rows] = pixels.index_select(0, rows).flip(-1)

    def _float(self, pixels: Tensor) -> Tensor:
        """Float32 images in ``[0, 1]`` in the hand-over memory format, transformed."""
        if pixels.dtype == torch.uint8:
            # One pass to float in the wanted layout; the division equals uint8_to_float's.
            images = pixels.to(torch.float32, memory_format=self.memory_format)
            images.div_(torch.full((), 255.0, dtype=torch.float32, device=images.device))
        else:
            images = pixels.to(torch.float32).contiguous(memory_format=self.memory_format)
        return images if self.transform is None else self.transform(images)

    def to_device(self, batch: HostBatch) -> DeviceBatch:
        """Turn one loader batch into the model's inputs on the device.

        Without a batch transform, uint8 images are flipped before the conversion (a
        quarter of the bytes; the result is the same, the conversion being per pixel);
        teachers always see un-flipped images.

        Args:
            batch: a :class:`HostBatch`.

        Returns:
            The :class:`DeviceBatch`.
        """
        sample = batch.sample
        pixels = self._copy(torch.as_tensor(sample.image))
        index = torch.as_tensor(sample.index)
        coins = None
        if self.hflip:  # one coin per image, the same flip for the image and its target map
            assert self.generator is not None
            coins = torch.rand(pixels.shape[0], generator=self.generator) < 0.5
        by_image = self.content is not None and batch.target is None
        early = pixels.dtype == torch.uint8 and self.transform is None and not by_image
        target = None if by_image else self._stored_target(pixels, batch, index)
        if early and coins is not None and bool(coins.any()):
            self._flip_rows(pixels, coins)
        images = self._float(pixels)
        if by_image:  # an image-based provider: the teacher runs on the device
            assert self.content is not None
            target = self.content(images, index).to(self.device, non_blocking=True)
        if coins is not None:
            flip = self._copy(coins.pin_memory() if self.pinned else coins)[:, None, None, None]
            if not early:
                images = torch.where(flip, images.flip(-1), images)
            if target is not None:
                target = torch.where(flip, target.flip(-1), target)
        return DeviceBatch(
            images.contiguous(memory_format=self.memory_format),
            self._copy(torch.as_tensor(sample.label)),
            self._copy(torch.as_tensor(sample.domain)),
            target,
        )

    def _stored_target(self, pixels: Tensor, batch: HostBatch, index: Tensor) -> Tensor | None:
        """The targets read with the batch; a cache's missing rows computed on the device
        from the un-flipped images and stored.
        """
        if batch.target is None:
            return None
        target = self._copy(batch.target).float()
        if batch.filled is not None and not bool(batch.filled.all()):  # a CPU flag: no sync
            assert isinstance(self.content, TargetCache)
            missing = ~batch.filled
            rows = self._rows(missing)
            values = self.content.target(self._float(pixels.index_select(0, rows)))
            stored = self.content.put(index[missing], values)
            target[rows] = stored.to(self.device, target.dtype)
        return target


#: The former name of :class:`DeviceBatches`.
TrainInputs = DeviceBatches
