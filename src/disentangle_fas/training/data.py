"""The data of one training task: source training set, held-out source validation set,
target test set and the content target (:class:`TaskData`), and the dataset helpers the
task builders share.

The builders take explicit arguments: :func:`~disentangle_fas.training.synthetic_task.synthetic_task`
(the built-in benchmark) and :func:`~disentangle_fas.training.store_task.store_task` (a
store written by ``disentangle-fas pack``); :func:`~disentangle_fas.training.tasks.build_task`
calls them from a :class:`~disentangle_fas.training.TrainConfig`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Dataset

from disentangle_fas.data.datasets import uint8_to_float
from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.types import FASSample

__all__ = ["IndexedSubset", "Resize", "TaskData", "split_by_video"]


@dataclass
class TaskData:
    """Everything the training loop needs for one task.

    Attributes:
        name: the task's display name (e.g. ``"O&C&I to M"``).
        train: source training samples; ``domain`` in ``0 .. S-1``.
        train_labels: ``(N,)`` labels of ``train`` (for the balanced sampler).
        train_domains: ``(N,)`` domains of ``train``.
        source_val: held-out source samples (never seen in training), for the honest
            threshold and checkpoint choice.
        target_test: target-domain test samples.
        source_names: names of the ``S`` source domains, in index order.
        target_name: name of the target domain.
        content: content-target provider ``(images, indices) -> (B, C, H, W)``; indices
            are ``FASSample.index`` values of ``train``. ``None`` for variants without E_C.
        content_shape: ``(C, H, W)`` of the content target.
    """

    name: str
    train: Dataset[FASSample]
    train_labels: NDArray[np.int64]
    train_domains: NDArray[np.int64]
    source_val: Dataset[FASSample]
    target_test: Dataset[FASSample]
    source_names: list[str]
    target_name: str
    content: TargetProvider | None
    content_shape: tuple[int, int, int]


class IndexedSubset(Dataset[FASSample]):
    """A subset of a dataset that keeps the parent's ``FASSample.index`` values.

    Args:
        parent: the dataset.
        indices: positions in ``parent``.
        transform: applied to each image read with ``subset[i]`` (after the parent's own);
            uint8 batches from :meth:`read_batch` skip it (apply it on the device to the
            converted batch: it is also the :attr:`batch_transform`).

    Attributes:
        batch_transform: ``transform``, for ``(B, 3, H, W)`` batches (``None``: none).
    """

    def __init__(
        self,
        parent: Dataset[FASSample],
        indices: Sequence[int] | NDArray[np.int64],
        transform: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.parent = parent
        self.indices = np.asarray(indices, dtype=np.int64)
        self.transform = transform
        self.batch_transform = transform

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int) -> FASSample:
        sample = self.parent[int(self.indices[i])]
        if self.transform is None:
            return sample
        return sample._replace(image=self.transform(sample.image))

    @property
    def reads_uint8(self) -> bool:
        """Whether :meth:`read_batch` can give uint8 batches (the parent can)."""
        return callable(getattr(self.parent, "read_batch", None)) and (
            getattr(self.parent, "transform", None) is None
        )

    def read_batch(self, indices: Sequence[int], *, dtype: torch.dtype = torch.uint8) -> FASSample:
        """Read the subset's samples ``indices`` as one batch, through the parent's reader.

        Args:
            indices: positions in the subset.
            dtype: ``torch.uint8`` (the parent's stored pixels, this subset's transform not
                applied) or ``torch.float32`` (equal to collating ``self[i]``).

        Returns:
            The batched :class:`FASSample`; ``index`` holds the parent's indices.

        Raises:
            TypeError: the parent has no uint8 batch reader (or has its own transform).

        Shape:
            - Output ``image``: ``(B, 3, H, W)``.
        """
        if not self.reads_uint8:
            raise TypeError(f"{type(self.parent).__name__} cannot read uint8 batches")
        rows = self.indices[np.asarray(indices, dtype=np.int64)]
        batch: FASSample = self.parent.read_batch(rows, dtype=torch.uint8)  # type: ignore[attr-defined]
        if dtype == torch.uint8:
            return batch
        image = uint8_to_float(batch.image.contiguous())
        if self.transform is not None:
            image = self.transform(image)
        return batch._replace(image=image)


class Resize(torch.nn.Module):
    """Resize images to ``size x size`` (bilinear, antialiased); a no-op at that size.

    Args:
        size: the output side.

    Shape:
        - Input: ``(3, H, W)`` or ``(B, 3, H, W)``; output: same with ``H = W = size``.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)

    def forward(self, image: Tensor) -> Tensor:
        """Resize ``image`` (one image or a batch)."""
        if image.shape[-1] == self.size and image.shape[-2] == self.size:
            return image
        batch = image if image.ndim == 4 else image[None]
        out = F.interpolate(
            batch, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False
        )
        return out if image.ndim == 4 else out[0]


def split_by_video(
    video_ids: Sequence[str], fraction: float, salt: str = "val"
) -> NDArray[np.bool_]:
    """Mark about ``fraction`` of the videos as held out, by a stable hash of the video id.

    All frames of a video land on the same side, and the choice does not depend on the
    order or number of other videos.

    Returns:
        ``(N,)`` boolean mask, ``True`` = held out.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    cut = int(fraction * 2**32)
    return np.array([zlib.crc32(f"{salt}:{v}".encode()) < cut for v in video_ids], dtype=bool)
