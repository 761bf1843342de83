"""The verdict over time: smoothing against scipy, hysteresis against a hand loop, no
single-frame flips; the threshold recalibrated on bona fide captures."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from disentangle_fas.inference.calibration import bona_fide_threshold
from disentangle_fas.inference.temporal import TemporalVerdict

scores = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60)


def reference_verdicts(
    p: list[float], t: float, a: float, h: float, hold: int
) -> tuple[list[float], list[str]]:
    """An independent formulation: the smoothing as a linear filter (scipy), the
    hysteresis with its hold as a state machine over the filtered scores (a switch needs
    the last ``hold`` scores all past the far edge since the previous switch)."""
    s = lfilter([a], [1.0, -(1.0 - a)], p[1:], zi=[(1.0 - a) * p[0]])[0] if len(p) > 1 else []
    smoothed = [p[0], *list(s)]
    state, out, since = "spoof", [], 0
    for i in range(len(smoothed)):
        window = smoothed[max(since, i - hold + 1) : i + 1]
        if len(window) == hold:
            if state == "spoof" and all(w >= min(1.0, t + h) for w in window):
                state, since = "live", i + 1
            elif state == "live" and all(w < max(0.0, t - h) for w in window):
                state, since = "spoof", i + 1
        out.append(state)
    return smoothed, out


@settings(max_examples=150, deadline=None)
@given(
    p=scores,
    t=st.floats(0.0, 1.0),
    a=st.floats(0.01, 1.0),
    h=st.floats(0.0, 0.5),
    hold=st.integers(1, 4),
)
def test_matches_the_filter_and_state_machine_reference(p, t, a, h, hold):
    tv = TemporalVerdict(threshold=t, smoothing=a, hysteresis=h, hold=hold)
    got = [tv.update(v) for v in p]
    smoothed, verdicts = reference_verdicts(p, t, a, h, hold)
    np.testing.assert_allclose([g[0] for g in got], smoothed, rtol=0, atol=1e-9)
    # the verdicts may differ only once a smoothed score sat on an edge (rounding)
    edges = (min(1.0, t + h), max(0.0, t - h))
    for i, ((s, v), ref) in enumerate(zip(got, verdicts, strict=True)):
        on_edge = any(abs(sm - e) < 1e-9 for sm in smoothed[: i + 1] for e in edges)
        assert v == ref or on_edge, (i, s, v, ref)


@settings(max_examples=150, deadline=None)
@given(p=scores, hold=st.integers(1, 5), a=st.floats(0.05, 1.0))
def test_every_verdict_lasts_at_least_hold_frames(p, hold, a):
    tv = TemporalVerdict(threshold=0.5, smoothing=a, hysteresis=0.0, hold=hold)
    verdicts = [tv.update(v)[1] for v in p]
    runs = [len(list(g)) for _, g in itertools.groupby(verdicts)]
    # the first run (the initial "spoof") and the last (cut by the sequence's end) aside
    assert all(r >= hold for r in runs[1:-1])


def _with_outliers(level: float, outlier: list[float], gap: int) -> list[float]:
    seq: list[float] = []
    for o in outlier:
        seq += [level] * gap + [o]
    return seq + [level] * gap


@settings(max_examples=100, deadline=None)
@given(
    level=st.floats(0.75, 1.0),
    outliers=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
)
def test_single_frame_outliers_do_not_flip_a_live_face(level, outliers):
    tv = TemporalVerdict(threshold=0.5)  # defaults: smoothing 0.3, hysteresis 0.05, hold 3
    verdicts = [tv.update(p)[1] for p in _with_outliers(level, outliers, gap=10)]
    assert verdicts[:2] == ["spoof"] * 2 and set(verdicts[2:]) == {"live"}


@settings(max_examples=100, deadline=None)
@given(
    level=st.floats(0.0, 0.25),
    outliers=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=8),
)
def test_single_frame_outliers_do_not_flip_a_spoof(level, outliers):
    tv = TemporalVerdict(threshold=0.5)
    verdicts = [tv.update(p)[1] for p in _with_outliers(level, outliers, gap=10)]
    assert set(verdicts) == {"spoof"}


def test_a_sequence_with_single_frame_flips_keeps_its_verdict_while_raw_decisions_flip():
    seq = [0.8, 0.8, 0.1, 0.8, 0.8, 0.8, 0.2, 0.8, 0.05, 0.8, 0.8]
    raw = [p >= 0.5 for p in seq]
    assert sum(a != b for a, b in itertools.pairwise(raw)) == 6
    tv = TemporalVerdict(threshold=0.5)
    assert [tv.update(p)[1] for p in seq] == ["spoof"] * 2 + ["live"] * (len(seq) - 2)


def test_hold_keeps_a_flickering_score_from_flickering_the_verdict():
    """Scores jumping between 0 and 1 (a model that reacts to a few pixels of box shift):
    without hold the verdict flips on single frames, with it never."""
    seq = [0.0] * 3 + [1.0, 1.0, 0.0, 0.0] * 6
    flips = lambda v: sum(v[i] != v[i - 1] and v[i] != v[i + 1] for i in range(1, len(v) - 1))  # noqa: E731
    fast = TemporalVerdict(threshold=0.5, hold=1)
    held = TemporalVerdict(threshold=0.5, hold=3)
    assert flips([fast.update(p)[1] for p in seq]) > 0
    assert flips([held.update(p)[1] for p in seq]) == 0


def test_a_sustained_change_does_flip_and_hysteresis_delays_the_way_back():
    tv = TemporalVerdict(threshold=0.5, smoothing=0.5, hysteresis=0.1, hold=1)
    out = [tv.update(p)[1] for p in [0.9] * 3 + [0.1] * 4 + [0.55] * 6]
    assert out[:3] == ["live"] * 3
    assert out[3] == "live" and out[4] == "spoof"  # s: 0.5, then 0.3 < 0.4
    assert set(out[5:]) == {"spoof"}  # 0.55 stays below t + h = 0.6: no way back


def test_no_face_resets_and_the_next_face_starts_afresh():
    tv = TemporalVerdict(threshold=0.5, hold=1)
    assert tv.update(0.9) == (0.9, "live")
    s, v = tv.update(math.nan)
    assert math.isnan(s) and v == "no_face"
    assert tv.update(0.2) == (0.2, "spoof")  # not smoothed with the earlier face


def test_edges_are_clamped_to_the_unit_interval():
    tv = TemporalVerdict(threshold=0.98, hysteresis=0.05, hold=1)
    assert tv.enter_live == 1.0 and tv.leave_live == pytest.approx(0.93)
    assert tv.update(1.0)[1] == "live"
    low = TemporalVerdict(threshold=0.02, hysteresis=0.05, hold=1)
    assert low.leave_live == 0.0 and low.update(0.0)[1] == "spoof"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 1.5},
        {"smoothing": 0.0},
        {"smoothing": 1.1},
        {"hysteresis": -0.1},
        {"hysteresis": 0.6},
        {"hold": 0},
    ],
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        TemporalVerdict(**kwargs)


def test_scores_outside_the_unit_interval_are_refused():
    with pytest.raises(ValueError, match="p_live"):
        TemporalVerdict().update(1.5)


@settings(max_examples=150, deadline=None)
@given(
    scores=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=80),
    bpcer=st.floats(0.0, 0.99),
)
def test_bona_fide_threshold_is_the_highest_that_keeps_the_rejection_rate(scores, bpcer):
    t = bona_fide_threshold(scores, bpcer)
    s = np.array(scores)
    rejected = float(np.mean(s < t))
    assert rejected <= bpcer + 1e-12
    # brute force over every candidate: no higher threshold keeps the rate
    higher = sorted({v for v in scores if v > t})
    assert all(np.mean(s < c) > bpcer + 1e-12 for c in higher)
    assert t in scores


def test_bona_fide_threshold_refuses_bad_input():
    for bad in ([], [0.5, math.nan], [1.5]):
        with pytest.raises(ValueError):
            bona_fide_threshold(bad)
    with pytest.raises(ValueError, match="bpcer"):
        bona_fide_threshold([0.5], bpcer=1.0)
