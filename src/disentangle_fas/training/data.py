"""The data of one training task: source training set, held-out source validation set,
target test set and the content target (:class:`TaskData`).

The builders are in :mod:`disentangle_fas.training.tasks`; the dataset helpers they share
(:class:`~disentangle_fas.data.subsets.IndexedSubset`, ``Resize``, ``split_by_video``,
``DomainConcat``) are the data room's, in :mod:`disentangle_fas.data.subsets`, and are
re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from torch.utils.data import Dataset

from disentangle_fas.data.subsets import DomainConcat, IndexedSubset, Resize, split_by_video
from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.types import FASSample

__all__ = ["DomainConcat", "IndexedSubset", "Resize", "TaskData", "split_by_video"]


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
