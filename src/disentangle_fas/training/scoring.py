"""Scoring datasets with a model (P(live) per sample) and turning the scores into metrics.

The metrics themselves live in :mod:`disentangle_fas.metrics`
(:func:`~disentangle_fas.metrics.evaluate_scores`); this module runs the model over
datasets to get the scores they need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import DataLoader, Dataset

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.metrics import EvaluationResult, check_score_spread, evaluate_scores
from disentangle_fas.types import FASSample

__all__ = ["ScoredSet", "evaluate_model", "score_dataset"]


@dataclass
class ScoredSet:
    """P(live) scores of a dataset with the labels needed by the metrics.

    Attributes:
        scores: ``(N,)`` P(live).
        labels: ``(N,)`` 1 live, 0 spoof.
        attacks: ``(N,)`` attack ids (0 live).
        video_ids: ``N`` video identifiers.
    """

    scores: NDArray[np.float64]
    labels: NDArray[np.int64]
    attacks: NDArray[np.int64]
    video_ids: list[str]


@torch.inference_mode()
def score_dataset(
    model: LivenessModel,
    dataset: Dataset[FASSample],
    *,
    device: torch.device,
    batch_size: int = 128,
    num_workers: int = 0,
    channels_last: bool = False,
) -> ScoredSet:
    """Compute P(live) for every sample with E_L + C_L (eval mode, no gradients).

    Args:
        model: the model (its train/eval mode is restored afterwards).
        dataset: returns :class:`~disentangle_fas.types.FASSample`.
        device: where to run.
        batch_size: images per forward pass.
        num_workers: DataLoader workers.
        channels_last: feed NHWC tensors (CUDA).

    Returns:
        The :class:`ScoredSet`, in dataset order.
    """
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    scores: list[NDArray[np.float64]] = []
    labels: list[NDArray[np.int64]] = []
    attacks: list[NDArray[np.int64]] = []
    videos: list[str] = []
    for batch in loader:
        images = batch.image.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        scores.append(model.live_score(images).float().cpu().numpy().astype(np.float64))
        labels.append(np.asarray(batch.label, dtype=np.int64))
        attacks.append(np.asarray(batch.attack, dtype=np.int64))
        videos.extend(str(v) for v in batch.video_id)
    model.train(was_training)
    return ScoredSet(
        scores=np.concatenate(scores),
        labels=np.concatenate(labels),
        attacks=np.concatenate(attacks),
        video_ids=videos,
    )


def evaluate_model(
    model: LivenessModel,
    source_val: Dataset[FASSample],
    target_test: Dataset[FASSample],
    *,
    device: torch.device,
    step: int | None = None,
    video_level: bool = True,
    batch_size: int = 128,
    channels_last: bool = False,
) -> EvaluationResult:
    """Score held-out source data and the target test set, and compute every metric.

    The honest threshold is the EER threshold of the source validation scores; the
    oracle threshold is the target test EER threshold (the literature's practice). Frame
    scores are averaged per video first when ``video_level`` is true.

    Args:
        model: the model.
        source_val: held-out source-domain data (never the target).
        target_test: target-domain test data.
        device: where to run.
        step: training step recorded in the result.
        video_level: average frame scores per video id.
        batch_size: images per forward pass.
        channels_last: feed NHWC tensors.

    Returns:
        The :class:`~disentangle_fas.metrics.EvaluationResult`.

    Raises:
        DegenerateScoresError: the source-val or target-test scores are (nearly) constant
            (:func:`~disentangle_fas.metrics.check_score_spread`): the metrics would rank
            rounding noise, so none are made.
    """
    src = score_dataset(
        model, source_val, device=device, batch_size=batch_size, channels_last=channels_last
    )
    tgt = score_dataset(
        model, target_test, device=device, batch_size=batch_size, channels_last=channels_last
    )
    check_score_spread(src.scores, what="source-val scores")
    check_score_spread(tgt.scores, what="target-test scores")
    return evaluate_scores(
        tgt.scores,
        tgt.labels,
        attacks=tgt.attacks,
        video_ids=tgt.video_ids if video_level else None,
        source_scores=src.scores,
        source_labels=src.labels,
        source_video_ids=src.video_ids if video_level else None,
        step=step,
    )
