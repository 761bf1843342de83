"""Threshold strategies, checkpoint policies and evaluate_scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from disentangle_fas.metrics import (
    CheckpointPolicy,
    EvaluationResult,
    ThresholdStrategy,
    acer,
    apcer_per_attack,
    auc,
    eer,
    evaluate_scores,
    fixed_threshold,
    hter,
    oracle_threshold,
    select_checkpoint,
    select_threshold,
    source_val_threshold,
    tpr_at_fpr,
)


def _data(seed: int, n: int = 200, shift: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 2).astype(int)
    attacks = np.where(labels == 1, 0, 1 + (np.arange(n) // 2) % 2)
    logits = rng.normal(size=n) + shift * (2 * labels - 1)
    return 1.0 / (1.0 + np.exp(-logits)), labels, attacks


def test_strategies_are_named_and_described() -> None:
    assert ThresholdStrategy.ORACLE_TARGET_EER.is_oracle
    assert not ThresholdStrategy.SOURCE_VAL_EER.is_oracle
    assert not ThresholdStrategy.FIXED.is_oracle
    assert "oracle" in ThresholdStrategy.ORACLE_TARGET_EER.description
    assert "source validation" in ThresholdStrategy.SOURCE_VAL_EER.description
    assert ThresholdStrategy.coerce("fixed") is ThresholdStrategy.FIXED
    with pytest.raises(ValueError, match="unknown threshold strategy 'best'"):
        ThresholdStrategy.coerce("best")
    assert CheckpointPolicy.ORACLE_BEST_TARGET.is_oracle
    assert not CheckpointPolicy.LAST.is_oracle
    assert CheckpointPolicy.coerce("best_source_val") is CheckpointPolicy.BEST_SOURCE_VAL
    with pytest.raises(ValueError, match="unknown checkpoint policy"):
        CheckpointPolicy.coerce("first")


def test_threshold_functions() -> None:
    target, target_y, _ = _data(0)
    source, source_y, _ = _data(1, shift=2.0)
    oracle = oracle_threshold(target, target_y)
    assert oracle.strategy is ThresholdStrategy.ORACLE_TARGET_EER
    assert oracle.value == eer(target, target_y)[1]
    honest = source_val_threshold(source, source_y)
    assert honest.strategy is ThresholdStrategy.SOURCE_VAL_EER
    assert honest.value == eer(source, source_y)[1]
    assert fixed_threshold(0.3).value == 0.3
    assert select_threshold("fixed", fixed=0.7) == fixed_threshold(0.7)
    assert select_threshold("oracle_target_eer", target_scores=target, target_labels=target_y) == (
        oracle
    )
    assert (
        select_threshold(
            ThresholdStrategy.SOURCE_VAL_EER, source_scores=source, source_labels=source_y
        )
        == honest
    )
    with pytest.raises(ValueError, match="needs target_scores"):
        select_threshold("oracle_target_eer")
    with pytest.raises(ValueError, match="needs source_scores"):
        select_threshold("source_val_eer", target_scores=target, target_labels=target_y)
    with pytest.raises(ValueError, match="finite"):
        fixed_threshold(float("nan"))


def test_evaluate_scores_computes_every_operating_point() -> None:
    target, target_y, attacks = _data(2)
    source, source_y, _ = _data(3, shift=1.5)
    r = evaluate_scores(
        target,
        target_y,
        attacks=attacks,
        source_scores=source,
        source_labels=source_y,
        fixed_threshold_value=0.4,
        step=7,
    )
    assert r.step == 7
    assert r.level == "frame"
    assert (r.num_samples, r.num_videos, r.num_live, r.num_spoof) == (200, None, 100, 100)
    assert r.auc == auc(target, target_y)
    assert (r.eer, r.eer_threshold) == eer(target, target_y)
    assert r.tpr_at_fpr_1pct == tpr_at_fpr(target, target_y, 0.01)
    assert r.tpr_at_fpr_01pct == tpr_at_fpr(target, target_y, 0.001)
    assert r.source_val is not None
    assert r.source_val.eer == eer(source, source_y)[0]
    assert r.source_val.auc == auc(source, source_y)
    expected_thresholds = {
        ThresholdStrategy.ORACLE_TARGET_EER: eer(target, target_y)[1],
        ThresholdStrategy.SOURCE_VAL_EER: eer(source, source_y)[1],
        ThresholdStrategy.FIXED: 0.4,
    }
    assert set(r.operating_points) == set(expected_thresholds)
    for strategy, thr in expected_thresholds.items():
        point = r.at(strategy)
        assert point.strategy is strategy
        assert point.threshold == thr
        assert point.hter == pytest.approx(hter(target, target_y, thr))
        assert point.acer == pytest.approx(acer(target, target_y, attacks, thr))
        assert point.apcer_per_attack == apcer_per_attack(target, target_y, attacks, thr)
        assert set(point.apcer_per_attack) == {1, 2}
        assert point.bpcer == point.frr
        assert point.hter == pytest.approx((point.far + point.frr) / 2)
    # The oracle HTER is (up to ROC resolution) the target EER.
    assert abs(r.oracle.hter - r.eer) <= 0.5 / 100 + 1e-12


def test_evaluate_scores_without_source_or_fixed() -> None:
    target, target_y, _ = _data(4)
    r = evaluate_scores(target, target_y, fixed_threshold_value=None)
    assert r.honest is None and r.fixed is None and r.source_val is None
    assert list(r.operating_points) == [ThresholdStrategy.ORACLE_TARGET_EER]
    with pytest.raises(ValueError, match="pass source_scores"):
        r.at("source_val_eer")
    with pytest.raises(ValueError, match="pass fixed_threshold"):
        r.at(ThresholdStrategy.FIXED)
    with pytest.raises(ValueError, match="both source_scores and source_labels"):
        evaluate_scores(target, target_y, source_scores=target)


def test_evaluate_scores_source_video_level() -> None:
    target, target_y, _ = _data(5, n=20)
    source = [0.9, 0.7, 0.2, 0.4, 0.6, 0.1]
    source_y = [1, 1, 0, 0, 1, 0]
    ids = ["a", "a", "b", "b", "c", "d"]
    r = evaluate_scores(
        target, target_y, source_scores=source, source_labels=source_y, source_video_ids=ids
    )
    assert r.source_val is not None
    assert (r.source_val.num_samples, r.source_val.num_videos) == (6, 4)
    # Source videos: live a=0.8, c=0.6 ; spoof b=0.3, d=0.1 -> separable, EER 0 at 0.6.
    assert r.source_val.eer == 0.0
    assert r.source_val.threshold == pytest.approx(0.6)
    assert r.honest is not None and r.honest.threshold == pytest.approx(0.6)


def _result(
    oracle_hter: float, auc_value: float, source_eer: float | None, step: int
) -> EvaluationResult:
    base = evaluate_scores([0.9, 0.1], [1, 0], source_scores=[0.8, 0.2], source_labels=[1, 0])
    assert base.source_val is not None
    return dataclasses.replace(
        base,
        auc=auc_value,
        oracle=dataclasses.replace(base.oracle, hter=oracle_hter),
        source_val=None
        if source_eer is None
        else dataclasses.replace(base.source_val, eer=source_eer),
        step=step,
    )


def test_select_checkpoint_policies() -> None:
    results = [
        _result(0.30, 0.80, 0.20, step=100),
        _result(0.10, 0.90, 0.25, step=200),  # best target HTER (oracle choice)
        _result(0.10, 0.95, 0.15, step=300),  # ties on HTER, higher AUC; best source EER
        _result(0.20, 0.85, 0.30, step=400),
    ]
    assert select_checkpoint(results, CheckpointPolicy.ORACLE_BEST_TARGET) == 2
    assert select_checkpoint(results, "last") == 3
    assert select_checkpoint(results, CheckpointPolicy.BEST_SOURCE_VAL) == 2
    honest_first = [results[0], results[3]]
    assert select_checkpoint(honest_first, "best_source_val") == 0
    assert select_checkpoint(honest_first, "oracle_best_target") == 1
    # Exact ties keep the earliest checkpoint.
    tied = [_result(0.1, 0.9, 0.1, step=1), _result(0.1, 0.9, 0.1, step=2)]
    assert select_checkpoint(tied, "oracle_best_target") == 0
    assert select_checkpoint(tied, "best_source_val") == 0


def test_select_checkpoint_errors() -> None:
    with pytest.raises(ValueError, match="results is empty"):
        select_checkpoint([], "last")
    with pytest.raises(ValueError, match="result 1 has no source validation"):
        select_checkpoint(
            [_result(0.1, 0.9, 0.1, 1), _result(0.1, 0.9, None, 2)], "best_source_val"
        )
    with pytest.raises(ValueError, match="unknown checkpoint policy"):
        select_checkpoint([_result(0.1, 0.9, 0.1, 1)], "best")
