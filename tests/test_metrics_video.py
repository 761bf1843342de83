"""Video-level scoring: per-video mean of frame scores, label checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disentangle_fas.metrics import auc, evaluate_scores, video_level


def test_video_average_example() -> None:
    scores = [0.2, 0.8, 0.9, 0.5, 0.7, 0.1, 0.3]
    labels = [1, 1, 1, 0, 0, 0, 0]
    videos = ["v1", "v1", "v2", "s1", "s1", "s2", "s2"]
    attacks = [0, 0, 0, 1, 1, 2, 2]
    v = video_level(scores, labels, videos, attacks)
    assert v.video_ids == ["v1", "v2", "s1", "s2"]
    np.testing.assert_allclose(v.scores, [0.5, 0.9, 0.6, 0.2])
    assert v.labels.tolist() == [1, 1, 0, 0]
    assert v.attacks is not None
    assert v.attacks.tolist() == [0, 0, 1, 2]
    assert v.num_frames.tolist() == [2, 1, 2, 2]
    # Frames: live {0.2, 0.8, 0.9} vs spoof {0.5, 0.7, 0.1, 0.3}: 0.2 beats one spoof,
    # 0.8 and 0.9 beat all four -> AUC 9/12. Videos: live {0.5, 0.9} vs spoof {0.6, 0.2}:
    # 0.5 beats one, 0.9 beats both -> AUC 3/4.
    assert auc(scores, labels) == pytest.approx(9 / 12)
    assert auc(v.scores, v.labels) == pytest.approx(3 / 4)


def test_non_contiguous_frames_and_int_ids() -> None:
    v = video_level([0.1, 0.9, 0.3, 0.7], [0, 1, 0, 1], np.array([7, 3, 7, 3]))
    assert v.video_ids == [7, 3]
    np.testing.assert_allclose(v.scores, [0.2, 0.8])
    assert v.labels.tolist() == [0, 1]
    assert v.attacks is None


def test_tensor_inputs_and_ids() -> None:
    v = video_level(torch.tensor([0.1, 0.3, 0.8]), torch.tensor([0, 0, 1]), torch.tensor([1, 1, 2]))
    assert v.video_ids == [1, 2]
    np.testing.assert_allclose(v.scores, [0.2, 0.8], rtol=1e-6)


def test_label_disagreement_is_an_error() -> None:
    with pytest.raises(ValueError, match="video 'a' has frames with different labels"):
        video_level([0.1, 0.2, 0.3], [0, 1, 1], ["a", "a", "b"])


def test_attack_disagreement_is_an_error() -> None:
    with pytest.raises(ValueError, match="different attack ids"):
        video_level([0.1, 0.2, 0.3], [0, 0, 1], ["a", "a", "b"], [1, 2, 0])


def test_length_and_type_errors() -> None:
    with pytest.raises(ValueError, match="video_ids has 2 entries"):
        video_level([0.1, 0.2, 0.3], [0, 1, 1], ["a", "b"])
    with pytest.raises(TypeError, match="not a string"):
        video_level([0.1, 0.2, 0.3], [0, 1, 1], "abc")
    with pytest.raises(ValueError, match="NaN"):
        video_level([0.1, float("nan")], [0, 1], ["a", "b"])


def test_evaluate_scores_at_video_level() -> None:
    scores = [0.2, 0.8, 0.9, 0.5, 0.7, 0.1, 0.3]
    labels = [1, 1, 1, 0, 0, 0, 0]
    videos = ["v1", "v1", "v2", "s1", "s1", "s2", "s2"]
    attacks = [0, 0, 0, 1, 1, 2, 2]
    r = evaluate_scores(scores, labels, video_ids=videos, attacks=attacks)
    assert r.level == "video"
    assert (r.num_samples, r.num_videos, r.num_live, r.num_spoof) == (7, 4, 2, 2)
    assert r.auc == pytest.approx(3 / 4)
    # Videos: live {0.5, 0.9}, spoof {0.6 (attack 1), 0.2 (attack 2)}.
    fixed = r.fixed
    assert fixed is not None
    assert fixed.threshold == 0.5
    assert fixed.apcer_per_attack == {1: 1.0, 2: 0.0}
    assert fixed.bpcer == 0.0
    assert fixed.hter == pytest.approx(0.25)
    assert fixed.acer == pytest.approx(0.5)
    frame = evaluate_scores(scores, labels)
    assert frame.level == "frame"
    assert (frame.num_samples, frame.num_videos) == (7, None)


def test_evaluate_scores_video_level_needs_both_classes_after_averaging() -> None:
    with pytest.raises(ValueError, match="only live"):
        evaluate_scores([0.1, 0.2], [1, 1], video_ids=["a", "b"])
