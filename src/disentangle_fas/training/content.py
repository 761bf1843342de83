"""Content targets of a task: what ``Phi(x)`` is, stated explicitly (no training config).

:class:`ContentSpec` names the target (the synthetic benchmark's ground-truth depth, or the
PRNet teacher's depth) and its size; :func:`prnet_provider` builds the PRNet provider,
optionally behind the on-disk target cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from torch.utils.data import Dataset

from disentangle_fas.targets.base import TargetProvider
from disentangle_fas.types import FASSample

__all__ = ["ContentSpec", "prnet_provider"]

ContentKind = Literal["geometry", "prnet"]


@dataclass(frozen=True)
class ContentSpec:
    """The content target of a task.

    Attributes:
        kind: ``"geometry"`` (ground-truth depth, synthetic data only) or ``"prnet"``.
        size: side of the target map ``(1, size, size)``.
        prnet_weights: local PRNet weights file (required for ``"prnet"``).
        prnet_input_crop_scale: side of the stored crops in face-box sides (the
            preprocessing's ``crop_scale``, 1.2 by default); when given, crops are re-cut to
            PRNet's own square before the teacher sees them (see
            :class:`~disentangle_fas.targets.PRNetTarget`). ``None`` feeds them unchanged.
    """

    kind: ContentKind
    size: int
    prnet_weights: str = ""
    prnet_input_crop_scale: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("geometry", "prnet"):
            raise ValueError(f"content kind must be 'geometry' or 'prnet', got {self.kind!r}")
        if self.size < 1:
            raise ValueError(f"content size must be >= 1, got {self.size}")
        if self.prnet_input_crop_scale is not None and self.prnet_input_crop_scale <= 0:
            raise ValueError(
                f"prnet_input_crop_scale must be positive, got {self.prnet_input_crop_scale}"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(1, size, size)``."""
        return (1, self.size, self.size)


def prnet_provider(
    spec: ContentSpec,
    *,
    cache: tuple[Dataset[FASSample], object, Path] | None = None,
    scratch_dir: Path | None = None,
) -> TargetProvider:
    """PRNet depth at ``spec.size``.

    Args:
        spec: a ``"prnet"`` spec with weights.
        cache: ``(dataset, fingerprint parts, directory)``: the teacher then runs once per
            image into an on-disk fp16 cache instead of every step.
        scratch_dir: where the cache goes when ``directory``'s parent is not writable.

    Raises:
        ValueError: no weights.
    """
    from disentangle_fas.targets import PRNetTarget, TargetCache, as_provider, make_fingerprint

    if not spec.prnet_weights:
        raise ValueError(
            "the content branch on real data needs PRNet weights: pass --prnet-weights "
            "<local file> (see docs/content_targets.md), or train --variant baseline/domain"
        )
    target = PRNetTarget(
        spec.prnet_weights,
        mode="depth",
        output_size=(spec.size, spec.size),
        input_crop_scale=spec.prnet_input_crop_scale,
    )
    if cache is None:
        return as_provider(target)
    dataset, parts, directory = cache
    if not os.access(directory.parent, os.W_OK) and scratch_dir is not None:
        directory = scratch_dir
    return TargetCache.for_dataset(
        directory, target, dataset, dataset_fingerprint=make_fingerprint(parts)
    )
