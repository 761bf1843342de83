"""The data of one training task: source training set, held-out source validation set,
target test set and the content target (:class:`TaskData`).

The builders are in :mod:`disentangle_fas.training.tasks`; the dataset helpers they share
(:class:`~disentangle_fas.data.subsets.IndexedSubset`, ``Resize``, ``split_by_subject``,
``split_by_group``, ``split_by_video``, ``DomainConcat``) are the data room's, in
:mod:`disentangle_fas.data.subsets`, and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray
from torch.utils.data import Dataset

from disentangle_fas.data.subsets import (
    DomainConcat,
    IndexedSubset,
    Resize,
    split_by_group,
    split_by_subject,
    split_by_video,
)
from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.types import FASSample

__all__ = [
    "SOURCE_VAL_SPLITS",
    "DomainConcat",
    "IndexedSubset",
    "Resize",
    "SourceValSplit",
    "TaskData",
    "split_by_group",
    "split_by_subject",
    "split_by_video",
]

#: How a task's source validation set was held out from its source data:
#:
#: * ``"subject"``: by person (domain and subject id), so no person of ``source_val`` is in
#:   ``train``;
#: * ``"video"``: by video (no subjects known): the same people may be on both sides;
#: * ``"subject+video"``: samples with a subject by person, the others by video;
#: * ``"split"``: a split of its own with other people (the synthetic benchmark's ``dev``);
#: * ``"unknown"``: not stated by whoever built the task.
SourceValSplit = Literal["subject", "video", "subject+video", "split", "unknown"]

#: The values of :data:`SourceValSplit`.
SOURCE_VAL_SPLITS: tuple[str, ...] = get_args(SourceValSplit)


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
        source_val_split: how ``source_val`` was held out (one of
            :data:`SOURCE_VAL_SPLITS`); only ``"subject"`` and ``"split"`` keep the people
            of the honest threshold and checkpoint choice out of training.

    Raises:
        ValueError: ``source_val_split`` is not one of :data:`SOURCE_VAL_SPLITS`.
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
    source_val_split: SourceValSplit = "unknown"

    def __post_init__(self) -> None:
        if self.source_val_split not in SOURCE_VAL_SPLITS:
            raise ValueError(
                f"source_val_split must be one of {SOURCE_VAL_SPLITS}, "
                f"got {self.source_val_split!r}"
            )
