"""ROC, AUC, EER, HTER and TPR@FPR against scikit-learn, hand loops and properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from disentangle_fas.metrics import auc, eer, far_frr, hter, roc_curve, threshold_at_fpr, tpr_at_fpr

# ----------------------------------------------------------------------------- helpers


def _random_case(seed: int, n: int, tied: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    labels[0], labels[1] = 0, 1  # both classes
    scores = rng.random(n) + 0.3 * labels
    if tied:
        scores = np.round(scores, 1)
    return scores, labels


def _loop_far_frr(scores: np.ndarray, labels: np.ndarray, t: float) -> tuple[float, float]:
    fa = sum(1 for s, y in zip(scores, labels, strict=True) if y == 0 and s >= t)
    fr = sum(1 for s, y in zip(scores, labels, strict=True) if y == 1 and s < t)
    return fa / int((labels == 0).sum()), fr / int((labels == 1).sum())


def _mann_whitney_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    total = 0.0
    for p, q in itertools.product(pos, neg):
        total += 1.0 if p > q else 0.5 if p == q else 0.0
    return total / (pos.size * neg.size)


def _max_roc_step(scores: np.ndarray, labels: np.ndarray) -> float:
    roc = roc_curve(scores, labels)
    return float(max(np.diff(roc.fpr).max(), np.diff(roc.tpr).max()))


def _point_on_roc(roc_fpr: np.ndarray, roc_tpr: np.ndarray, x: float, y: float) -> bool:
    """Whether (x, y) lies on the ROC polyline (independent of how EER is computed)."""
    for i in range(len(roc_fpr) - 1):
        a = np.array([roc_fpr[i], roc_tpr[i]])
        b = np.array([roc_fpr[i + 1], roc_tpr[i + 1]])
        p = np.array([x, y])
        ab, ap = b - a, p - a
        cross = ab[0] * ap[1] - ab[1] * ap[0]
        dot = float(ab @ ap)
        if abs(cross) < 1e-9 and -1e-9 <= dot <= float(ab @ ab) + 1e-9:
            return True
    return False


score_lists = st.lists(
    st.tuples(st.integers(-40, 40), st.integers(0, 1)), min_size=2, max_size=40
).filter(lambda xs: 0 < sum(y for _, y in xs) < len(xs))


def _arrays(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    scores = np.array([s / 8.0 for s, _ in pairs])
    labels = np.array([y for _, y in pairs])
    return scores, labels


# ----------------------------------------------------------------------- sklearn refs


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_roc_curve_matches_sklearn(seed: int, tied: bool) -> None:
    scores, labels = _random_case(seed, 60, tied)
    ours = roc_curve(scores, labels)
    fpr, tpr, thr = sk_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(ours.fpr, fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.tpr, tpr, rtol=0, atol=1e-12)
    assert ours.thresholds[0] == np.inf
    np.testing.assert_array_equal(ours.thresholds[1:], thr[1:])
    if tied:
        assert ours.thresholds.size < scores.size + 1


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn(seed: int, tied: bool) -> None:
    scores, labels = _random_case(seed, 80, tied)
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@given(score_lists)
def test_auc_matches_sklearn_and_mann_whitney_hypothesis(pairs: list[tuple[int, int]]) -> None:
    scores, labels = _arrays(pairs)
    value = auc(scores, labels)
    assert value == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert value == pytest.approx(_mann_whitney_auc(scores, labels), abs=1e-12)
    ours = roc_curve(scores, labels)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(ours.fpr, fpr, atol=1e-12)
    np.testing.assert_allclose(ours.tpr, tpr, atol=1e-12)


def test_small_roc_by_hand() -> None:
    roc = roc_curve([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0])
    assert roc.fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert roc.tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert roc.thresholds.tolist() == [math.inf, 0.9, 0.6, 0.4, 0.1]
    assert auc([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0]) == 0.75


def test_all_tied_scores() -> None:
    scores = np.full(6, 0.5)
    labels = np.array([0, 1, 0, 1, 1, 0])
    assert auc(scores, labels) == 0.5
    value, thr = eer(scores, labels)
    assert value == 0.5
    assert thr == 0.5  # finite: never +inf
    assert hter(scores, labels, thr) == 0.5


# --------------------------------------------------------------------------- HTER/FAR


@pytest.mark.parametrize("seed", range(4))
def test_hter_far_frr_match_loops(seed: int) -> None:
    scores, labels = _random_case(seed, 50, tied=True)
    for t in [0.0, 0.3, 0.5, 0.7, 1.2, float(scores[3])]:
        far, frr = far_frr(scores, labels, t)
        ref_far, ref_frr = _loop_far_frr(scores, labels, t)
        assert (far, frr) == pytest.approx((ref_far, ref_frr), abs=1e-15)
        assert hter(scores, labels, t) == pytest.approx((ref_far + ref_frr) / 2, abs=1e-15)


def test_hter_threshold_is_inclusive() -> None:
    # live iff score >= threshold: a live sample exactly at the threshold is accepted.
    assert far_frr([0.5, 0.5], [1, 0], 0.5) == (1.0, 0.0)
    assert hter([0.5, 0.2], [1, 0], 0.5) == 0.0


# -------------------------------------------------------------------------------- EER


@pytest.mark.parametrize("tied", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_eer_lies_on_roc_and_threshold_minimises_gap(seed: int, tied: bool) -> None:
    scores, labels = _random_case(seed, 70, tied)
    value, thr = eer(scores, labels)
    fpr, tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    assert _point_on_roc(fpr, tpr, value, 1.0 - value)
    # Brute force over every observed score: the returned threshold has the smallest
    # |FAR - FRR| of all finite thresholds.
    gaps = [abs(np.subtract(*_loop_far_frr(scores, labels, t))) for t in np.unique(scores)]
    far, frr = _loop_far_frr(scores, labels, thr)
    assert abs(far - frr) == pytest.approx(min(gaps), abs=1e-12)
    assert thr in set(scores.tolist())


def test_eer_small_by_hand() -> None:
    assert eer([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == (0.0, 0.8)
    # live 0.9, 0.4 ; spoof 0.6, 0.1 : FAR = FRR = 0.5 at threshold 0.6 or 0.4
    value, thr = eer([0.9, 0.4, 0.6, 0.1], [1, 1, 0, 0])
    assert value == 0.5
    assert thr == 0.6  # tie on |FAR - FRR| and HTER: the higher threshold


def test_eer_interpolates_between_vertices() -> None:
    # 3 live, 2 spoof, no vertex with FAR == FRR; crossing interpolated.
    scores = [0.9, 0.8, 0.3, 0.7, 0.2]
    labels = [1, 1, 1, 0, 0]
    value, thr = eer(scores, labels)
    # ROC vertices: (0,1/3) (0,2/3) (1/2,2/3) (1/2,1) (1,1); crossing of fpr = 1 - tpr on
    # the segment (0, 2/3) -> (1/2, 2/3) at fpr = 1/3.
    assert value == pytest.approx(1 / 3)
    assert thr in (0.8, 0.7)
    far, frr = far_frr(scores, labels, thr)
    assert abs(far - frr) == pytest.approx(1 / 6)


def test_worse_than_chance_scorer_has_eer_above_half() -> None:
    value, thr = eer([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])
    assert value == 1.0
    assert hter([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0], thr) == 1.0


# ---------------------------------------------------------------- hypothesis properties


@given(
    st.lists(st.integers(0, 1000), min_size=1, max_size=20),
    st.lists(st.integers(0, 1000), min_size=1, max_size=20),
    st.integers(1, 50),
)
def test_separable_scores(live: list[int], spoof: list[int], gap: int) -> None:
    top = max(spoof)
    live_scores = [top + gap + x for x in live]
    scores = np.array(live_scores + spoof, dtype=float) / 2000.0
    labels = np.array([1] * len(live) + [0] * len(spoof))
    assert auc(scores, labels) == 1.0
    value, thr = eer(scores, labels)
    assert value == 0.0
    h = hter(scores, labels, thr)
    assert 0.0 <= h <= 0.5
    assert h == 0.0
    assert tpr_at_fpr(scores, labels, 0.001) == 1.0


@given(score_lists)
def test_hter_at_eer_threshold_matches_eer(pairs: list[tuple[int, int]]) -> None:
    scores, labels = _arrays(pairs)
    value, thr = eer(scores, labels)
    h = hter(scores, labels, thr)
    step = _max_roc_step(scores, labels)
    assert 0.0 <= value <= 1.0
    assert 0.0 <= h <= 1.0
    assert abs(h - value) <= step / 2 + 1e-12
    if value + step / 2 <= 0.5:
        assert 0.0 <= h <= 0.5


@given(st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=4, max_size=40), st.data())
def test_hter_at_eer_threshold_random_distinct_scores(
    scores_list: list[float], data: st.DataObject
) -> None:
    scores = np.array(scores_list)
    assume(np.unique(scores).size == scores.size)
    labels = np.array(data.draw(st.lists(st.integers(0, 1), min_size=scores.size,
                                         max_size=scores.size)))  # fmt: skip
    assume(0 < labels.sum() < labels.size)
    value, thr = eer(scores, labels)
    n_live, n_spoof = int(labels.sum()), int(labels.size - labels.sum())
    resolution = max(1 / n_live, 1 / n_spoof)
    h = hter(scores, labels, thr)
    assert abs(h - value) <= resolution / 2 + 1e-12
    if value <= 0.5 - resolution / 2:
        assert 0.0 <= h <= 0.5


TRANSFORMS = {
    "affine": lambda x: 3.0 * x + 2.0,
    "exp": np.exp,
    "cubic": lambda x: x**3 + x,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@given(pairs=score_lists)
def test_auc_eer_invariant_to_monotone_transforms(name: str, pairs: list[tuple[int, int]]) -> None:
    scores, labels = _arrays(pairs)
    g = TRANSFORMS[name]
    transformed = g(scores)
    assert np.unique(transformed).size == np.unique(scores).size  # still strictly monotone
    assert auc(transformed, labels) == auc(scores, labels)
    value, thr = eer(scores, labels)
    value_t, thr_t = eer(transformed, labels)
    assert value_t == value
    assert thr_t == g(np.float64(thr))
    assert tpr_at_fpr(transformed, labels, 0.1) == tpr_at_fpr(scores, labels, 0.1)


@given(score_lists)
def test_auc_of_negated_scores(pairs: list[tuple[int, int]]) -> None:
    scores, labels = _arrays(pairs)
    assert auc(scores, labels) + auc(-scores, labels) == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------- TPR@FPR


@given(score_lists, st.sampled_from([0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 1.0]))
def test_tpr_at_fpr_brute_force(pairs: list[tuple[int, int]], target: float) -> None:
    scores, labels = _arrays(pairs)
    best = 0.0
    for t in np.unique(scores):
        far, frr = _loop_far_frr(scores, labels, float(t))
        if far <= target + 1e-12:
            best = max(best, 1.0 - frr)
    assert tpr_at_fpr(scores, labels, target) == pytest.approx(best, abs=1e-12)
    thr = threshold_at_fpr(scores, labels, target)
    if math.isfinite(thr):
        far, frr = _loop_far_frr(scores, labels, thr)
        assert far <= target + 1e-12
        assert 1.0 - frr == pytest.approx(best, abs=1e-12)
    else:
        assert best == 0.0


def test_tpr_at_fpr_one_and_point_one_percent() -> None:
    rng = np.random.default_rng(0)
    spoof = rng.random(2000)
    live = rng.random(500) + 0.9
    scores = np.r_[live, spoof]
    labels = np.r_[np.ones(500, int), np.zeros(2000, int)]
    # At most k spoofs accepted: the lowest such threshold sits just above the (k+1)-th
    # highest spoof, so every live sample above that spoof is accepted.
    expected_01 = float((live > np.sort(spoof)[-3]).mean())  # k = 2 (0.1% of 2000)
    expected_1 = float((live > np.sort(spoof)[-21]).mean())  # k = 20 (1%)
    assert tpr_at_fpr(scores, labels, 0.001) == pytest.approx(expected_01)
    assert tpr_at_fpr(scores, labels, 0.01) == pytest.approx(expected_1)


# ---------------------------------------------------------------------- torch inputs


def test_accepts_torch_tensors() -> None:
    scores_np, labels_np = _random_case(3, 40, tied=False)
    scores = torch.tensor(scores_np, dtype=torch.float32, requires_grad=True)
    labels = torch.tensor(labels_np)
    expected = auc(scores_np.astype(np.float32), labels_np)
    assert auc(scores, labels) == expected
    assert eer(scores, labels) == eer(scores_np.astype(np.float32), labels_np)
    assert auc(scores.to(torch.bfloat16), labels.bool()) == pytest.approx(expected, abs=0.05)
    assert isinstance(hter(scores, labels, 0.5), float)
    assert isinstance(auc([0.2, 0.7], [0, 1]), float)
