"""Video-level scoring: one score per video, the mean of its frame scores.

DG-FAS papers score a few frames per test video and report metrics on the per-video mean
``P(live)``. :func:`video_level` does that aggregation and checks that all frames of a
video carry the same label (and attack type).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from disentangle_fas.metrics._checks import ArrayLike1D, to_attacks, to_scores_labels

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["VideoScores", "video_level"]


class VideoScores(NamedTuple):
    """Per-video scores, in order of each video's first frame.

    Attributes:
        scores: ``(V,)`` mean frame score of each video.
        labels: ``(V,)`` the video's label (1 live, 0 spoof).
        attacks: ``(V,)`` the video's attack id, or ``None`` when none were given.
        video_ids: the ``V`` video ids.
        num_frames: ``(V,)`` number of frames averaged per video.
    """

    scores: NDArray[np.float64]
    labels: NDArray[np.int64]
    attacks: NDArray[np.int64] | None
    video_ids: list[Hashable]
    num_frames: NDArray[np.int64]


def video_level(
    scores: ArrayLike1D,
    labels: ArrayLike1D,
    video_ids: Sequence[Hashable] | NDArray[Any] | Tensor,
    attacks: ArrayLike1D | None = None,
) -> VideoScores:
    """Average frame scores per video id.

    The video score is the arithmetic mean of its frames' ``P(live)``. Frames of one
    video need not be contiguous. Labels (and attack ids, when given) must agree within
    a video.

    Args:
        scores: frame scores, ``P(live)``.
        labels: frame labels, 1 = live, 0 = spoof.
        video_ids: the video id of each frame (strings or any hashable values; numpy
            arrays and tensors are converted with ``.tolist()``).
        attacks: optional frame attack ids (0 live, positive for spoof).

    Returns:
        A :class:`VideoScores`, one entry per distinct video id.

    Shape:
        - scores, labels, video_ids, attacks: ``(N,)`` frames.
        - outputs: ``(V,)`` videos.

    Raises:
        ValueError: on invalid scores/labels, a ``video_ids`` length that does not match,
            or a video whose frames have different labels or attack ids.

    Example:
        >>> v = video_level([0.25, 0.75, 0.9], [0, 0, 1], ["a", "a", "b"])
        >>> v.scores.tolist(), v.labels.tolist(), v.video_ids
        ([0.5, 0.9], [0, 1], ['a', 'b'])
    """
    s, y = to_scores_labels(scores, labels, need_both=False)
    if isinstance(video_ids, (str, bytes)):
        raise TypeError("video_ids must be a sequence with one id per frame, not a string")
    if hasattr(video_ids, "tolist"):  # numpy arrays and torch tensors: plain Python ids
        ids: list[Hashable] = list(video_ids.tolist())
    else:
        ids = list(video_ids)
    if len(ids) != s.size:
        raise ValueError(
            f"video_ids has {len(ids)} entries but there are {s.size} scores; give one "
            "video id per frame"
        )
    a = to_attacks(attacks, y) if attacks is not None else None

    index: dict[Hashable, int] = {}
    inverse = np.empty(s.size, dtype=np.int64)
    for i, vid in enumerate(ids):
        inverse[i] = index.setdefault(vid, len(index))
    n_videos = len(index)

    counts = np.bincount(inverse, minlength=n_videos).astype(np.int64)
    sums = np.bincount(inverse, weights=s, minlength=n_videos)
    same_label = "labels; all frames of a video must share one label (check the video ids)"
    video_labels = _per_video(y, inverse, n_videos, ids, same_label)
    video_attacks: NDArray[np.int64] | None = None
    if a is not None:
        same_attack = "attack ids; all frames of a video must share one attack type"
        video_attacks = _per_video(a, inverse, n_videos, ids, same_attack)
    return VideoScores(
        scores=sums / counts,
        labels=video_labels,
        attacks=video_attacks,
        video_ids=list(index),
        num_frames=counts,
    )


def _per_video(
    values: NDArray[np.int64],
    inverse: NDArray[np.int64],
    n_videos: int,
    ids: list[Hashable],
    what: str,
) -> NDArray[np.int64]:
    """The one value of each video; raises naming the first video whose frames differ."""
    per_video = np.zeros(n_videos, dtype=np.int64)
    per_video[inverse] = values
    mismatch = np.flatnonzero(per_video[inverse] != values)
    if mismatch.size:
        raise ValueError(f"video {ids[int(mismatch[0])]!r} has frames with different {what}")
    return per_video
