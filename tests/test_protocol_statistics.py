"""Paired tests, Holm's correction, the summary line and the three named protocol tables."""

from __future__ import annotations

import csv
import doctest
import io
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from disentangle_fas import metrics
from disentangle_fas.metrics import (
    CheckpointPolicy,
    bootstrap_interval,
    bootstrap_test,
    evaluate_scores,
    holm_adjust,
    paired_difference,
    paired_t_test,
)
from disentangle_fas.metrics.checkpoints import CheckpointScores, select_index
from disentangle_fas.metrics.uncertainty import t_cdf
from disentangle_fas.training.protocol_report import (
    FULL_ORACLE,
    RunRecord,
    assemble_result,
    full_oracle_point,
)
from disentangle_fas.training.protocol_stats import TaskPoint, summarize_points

# --- Holm's correction -----------------------------------------------------------------


def _holm_reference(p: list[float]) -> list[float]:
    """Textbook definition, written out: sort ascending; the j-th smallest (1-based) is
    multiplied by m - j + 1 and capped at 1; the i-th adjusted value is the largest of
    those for j <= i; then back to the input order."""
    m = len(p)
    order = sorted(range(m), key=lambda k: (p[k], k))
    scaled = [min(1.0, (m - j) * p[order[j]]) for j in range(m)]
    out = [0.0] * m
    for i in range(m):
        best = 0.0
        for j in range(i + 1):
            if scaled[j] > best:
                best = scaled[j]
        out[order[i]] = best
    return out


def _holm_rejects(p: list[float], alpha: float) -> set[int]:
    """Holm's step-down procedure at level alpha: reject the smallest p-values while
    p_(j) <= alpha / (m - j + 1); stop at the first that is not."""
    m = len(p)
    order = sorted(range(m), key=lambda k: (p[k], k))
    rejected: set[int] = set()
    for j, k in enumerate(order):
        if p[k] > alpha / (m - j):
            break
        rejected.add(k)
    return rejected


def test_holm_adjust_by_hand() -> None:
    # Two tasks at raw p 0.031 and 0.026 among four: neither survives Holm (x4, then x3).
    assert holm_adjust([0.031, 0.5, 0.026, 0.6]) == pytest.approx([0.104, 1.0, 0.104, 1.0])
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm_adjust([0.2]) == [0.2]
    assert holm_adjust([]) == []
    assert holm_adjust(np.array([0.01, 0.01])) == [0.02, 0.02]  # ties: equal values


@pytest.mark.parametrize("bad", [[math.nan], [1.2], [-0.1], [0.1, math.inf]])
def test_holm_adjust_refuses_what_is_not_a_p_value(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm_adjust(bad)


p_values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(p_values)
def test_holm_adjust_properties(p: list[float]) -> None:
    adj = holm_adjust(p)
    m = len(p)
    assert adj == pytest.approx(_holm_reference(p), abs=1e-15)
    assert all(a >= r for a, r in zip(adj, p, strict=True))  # never below the raw value
    assert all(a <= 1.0 for a in adj)
    order = sorted(range(m), key=lambda k: p[k])
    assert all(adj[i] <= adj[j] for i, j in itertools.pairwise(order))  # monotone
    smallest = min(range(m), key=lambda k: p[k])
    assert adj[smallest] == min(1.0, m * p[smallest])  # Bonferroni for the smallest


@settings(max_examples=200, deadline=None)
@given(p_values, st.floats(0.001, 0.2))
def test_holm_adjust_rejects_what_the_step_down_procedure_rejects(
    p: list[float], alpha: float
) -> None:
    m = len(p)
    # Away from the boundaries, where dividing and multiplying may round differently.
    assume(all(abs((m - j) * x - alpha) > 1e-9 for x in p for j in range(m)))
    adj = holm_adjust(p)
    assert {i for i, a in enumerate(adj) if a <= alpha} == _holm_rejects(p, alpha)


def test_statsmodels_agrees_when_installed() -> None:
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(1)
    p = rng.random(9) ** 3
    _, expected, _, _ = multitest.multipletests(p, method="holm")
    assert holm_adjust(p) == pytest.approx(expected.tolist(), abs=1e-12)


# --- The paired tests ------------------------------------------------------------------


def test_paired_t_test_by_hand_and_with_the_interval() -> None:
    a, b = [0.9, 0.8, 0.85], [0.7, 0.75, 0.6]
    d = np.subtract(a, b)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    # df = 2: the two-sided p-value has the closed form 1 - |t| / sqrt(t^2 + 2).
    assert paired_t_test(a, b) == pytest.approx(1 - abs(t) / math.sqrt(t * t + 2), rel=1e-9)
    assert paired_t_test(a, b) == pytest.approx(2 * t_cdf(-abs(t), 2), rel=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(50):
        x, y = rng.normal(size=4), rng.normal(size=4) + rng.normal()
        p = paired_t_test(x, y)
        iv = paired_difference(x, y, 0.95)
        assert (p < 0.05) == (iv.low > 0 or iv.high < 0)
        assert paired_t_test(y, x) == pytest.approx(p)


def test_paired_t_test_matches_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(2)
    for n in (2, 3, 5, 10):
        for _ in range(10):
            a = rng.random(n)
            b = a + rng.normal(0.05, 0.1, size=n)
            assert paired_t_test(a, b) == pytest.approx(
                stats.ttest_rel(a, b).pvalue, rel=1e-8, abs=1e-14
            )


def test_paired_t_test_without_spread() -> None:
    assert paired_t_test([0.8, 0.7], [0.8, 0.7]) == 1.0  # no difference at all
    assert math.isnan(paired_t_test([0.8, 0.7], [0.7, 0.6]))  # equal, non-zero: undefined
    assert math.isnan(paired_t_test([0.8], [0.7]))  # one pair
    with pytest.raises(ValueError, match="equal lengths"):
        paired_t_test([0.8, 0.7], [0.7])


def test_bootstrap_test_is_the_interval_and_its_tail() -> None:
    labels = np.array([1] * 10 + [0] * 10)
    rng = np.random.default_rng(3)
    noise = rng.normal(size=20)

    def stat(idx: np.ndarray) -> float:
        return float(np.mean(noise[idx]) + 0.05)

    iv, p = bootstrap_test(stat, labels, resamples=300, seed=4)
    assert iv == bootstrap_interval(stat, labels, resamples=300, seed=4)
    assert 0.0 < p <= 1.0
    # A statistic that is positive on every resample: the smallest p-value, 2 / (B + 1).
    _, p_pos = bootstrap_test(lambda idx: 1.0 + 0.0 * len(idx), labels, resamples=99)
    assert p_pos == pytest.approx(2 / 100)
    _, p_zero = bootstrap_test(lambda idx: 0.0 * len(idx), labels, resamples=99)
    assert p_zero == 1.0


def test_uncertainty_docstring_examples_run() -> None:
    from disentangle_fas.metrics import t_distribution, uncertainty

    results = [doctest.testmod(uncertainty), doctest.testmod(t_distribution)]
    assert all(r.failed == 0 for r in results) and sum(r.attempted for r in results) >= 3
    assert {"holm_adjust", "paired_t_test", "bootstrap_test"} <= set(metrics.__all__)


# --- The summary line ------------------------------------------------------------------


def _points(aucs: dict[str, dict[str, list[float]]]) -> dict[int, dict[str, list[TaskPoint]]]:
    """variant -> task -> per-seed AUC, as seed -> variant -> points (HTER = 1 - AUC)."""
    variants = list(aucs)
    tasks = list(aucs[variants[0]])
    n = len(aucs[variants[0]][tasks[0]])
    return {
        s: {
            v: [TaskPoint(t, 1 - aucs[v][t][s], aucs[v][t][s], 0.5, 0.3) for t in tasks]
            for v in variants
        }
        for s in range(n)
    }


BASE = [0.60, 0.65, 0.70]


def test_unadjusted_significance_does_not_survive_holm() -> None:
    # OCI->M: differences 0.10, 0.12, 0.08: raw p = 0.013 < 0.05 and its unadjusted interval
    # excludes 0, but over the family of four tasks Holm gives 4 x 0.013 = 0.052.
    full = {
        "OCI->M": [b + d for b, d in zip(BASE, [0.10, 0.12, 0.08], strict=True)],
        "OMI->C": [b + d for b, d in zip(BASE, [0.05, 0.08, 0.02], strict=True)],
        "OCM->I": [b + d for b, d in zip(BASE, [0.02, -0.03, 0.01], strict=True)],
        "ICM->O": [b + d for b, d in zip(BASE, [-0.05, 0.04, 0.0], strict=True)],
    }
    s = summarize_points(
        _points({"full": full, "baseline": dict.fromkeys(full, BASE)}), protocol_line="P."
    )
    first = s.pairs[0]
    assert first.auc_p < 0.05 and first.auc.significant
    assert first.auc_p_holm == pytest.approx(min(1.0, 4 * first.auc_p))
    assert first.auc_p_holm > 0.05 and not s.significant(first)
    assert [p.auc_p_holm for p in s.pairs] == pytest.approx(holm_adjust([p.auc_p for p in s.pairs]))
    line = s.summary_line()
    assert line == (
        "Summary: AUC (primary endpoint), family: 4 tasks x 1 comparison (full - baseline), "
        "paired t-test over 3 seeds, Holm-adjusted: no significant difference after Holm's "
        "correction."
    )
    assert "\n" not in line
    md = s.to_markdown()
    assert "| OCI->M | full − baseline | +10.00 |" in md  # no star: not significant after Holm
    assert "95 % CI (unadjusted)" in md and "Holm p" in md


def test_summary_line_names_the_tasks_that_survive_with_their_direction() -> None:
    full = {
        "T1": [b + d for b, d in zip(BASE, [0.30, 0.31, 0.29], strict=True)],
        "T2": [b + d for b, d in zip(BASE, [-0.30, -0.32, -0.29], strict=True)],
        "T3": [b + d for b, d in zip(BASE, [0.02, -0.03, 0.01], strict=True)],
    }
    s = summarize_points(
        _points({"full": full, "baseline": dict.fromkeys(full, BASE)}), protocol_line="P."
    )
    holm = [p.auc_p_holm for p in s.pairs]
    assert holm[0] < 0.05 and holm[1] < 0.05 and holm[2] > 0.05
    assert s.summary_line() == (
        "Summary: AUC (primary endpoint), family: 3 tasks x 1 comparison (full - baseline), "
        "paired t-test over 3 seeds, Holm-adjusted p < 0.05: full - baseline AUC higher on T1 "
        f"(+30.0 points, Holm p = {holm[0]:.3f}), lower on T2 (-30.3 points, Holm p = "
        f"{holm[1]:.3f}); no significant difference on the other 1."
    )
    assert "| T1 | full − baseline | +30.00* |" in s.to_markdown()
    tiny = summarize_points(
        _points({"full": {"T1": [0.9, 0.91, 0.92, 0.93]}, "baseline": {"T1": [0.5] * 4}}),
        protocol_line="P.",
    )
    assert tiny.pairs[0].auc_p < 0.001
    assert "(+41.5 points, Holm p < 0.001)." in tiny.summary_line()


def test_the_family_counts_every_task_and_pair() -> None:
    aucs = {v: {"T1": BASE, "T2": [0.5, 0.9, 0.7]} for v in ("full", "baseline", "content")}
    aucs["content"]["T1"] = [0.61, 0.64, 0.72]
    s = summarize_points(_points(aucs), protocol_line="P.")
    assert len(s.pairs) == 6
    assert s.family() == (
        "2 tasks x 3 comparisons (full - baseline, full - content, baseline - content)"
    )
    # Zero differences (full = baseline) have p = 1; every pair is in the adjustment.
    assert s.pairs[0].auc_p == 1.0
    raw = [p.auc_p for p in s.pairs]
    assert [p.auc_p_holm for p in s.pairs] == pytest.approx(holm_adjust(raw))
    assert "no significant difference after Holm's correction" in s.summary_line()
    cells = s.to_dict()["cells"][0]
    assert cells["eer_per_seed"] == [0.5, 0.5, 0.5] and cells["acer_per_seed"] == [0.3] * 3


def test_without_p_values_the_line_says_nothing_was_tested() -> None:
    s = summarize_points(
        _points({"full": {"T1": [0.8]}, "baseline": {"T1": [0.7]}}), protocol_line="P."
    )
    assert math.isnan(s.pairs[0].auc_p) and math.isnan(s.pairs[0].auc_p_holm)
    assert s.summary_line() == (
        "Summary: AUC (primary endpoint), family: 1 task x 1 comparison (full - baseline): "
        "no p-values (one seed, no target scores to resample), nothing tested; the intervals "
        "shown are unadjusted."
    )
    assert s.to_dict()["pairs"][0]["auc_p"] is None


# --- The three named tables ------------------------------------------------------------


def _history(rows: list[tuple[int, float, float]]) -> list[dict[str, float]]:
    """(step, target HTER at the target EER threshold, target AUC) per evaluation."""
    return [
        {
            "step": step,
            "target_auc": auc,
            "target_eer": hter,
            "target_hter_oracle": hter,
            "target_hter_honest": 0.5,
            "source_val_eer": 0.1 * (i + 1),
            "source_val_auc": 0.9,
            "threshold_honest": 0.5,
            "threshold_oracle": 0.4,
        }
        for i, (step, hter, auc) in enumerate(rows)
    ]


def test_full_oracle_point_is_the_oracle_best_target_policy() -> None:
    history = _history([(10, 0.30, 0.70), (20, 0.20, 0.75), (30, 0.20, 0.80), (40, 0.25, 0.9)])
    point = full_oracle_point("T", history)
    assert (point.step, point.hter, point.auc, point.acer) == (30, 0.20, 0.80, None)
    scores = [
        CheckpointScores(h["target_hter_oracle"], h["target_auc"], h["source_val_eer"], 0.9)
        for h in history
    ]
    assert history[select_index(scores, CheckpointPolicy.ORACLE_BEST_TARGET)]["step"] == 30
    with pytest.raises(ValueError, match="empty"):
        full_oracle_point("T", [])


def _record(variant: str, task: str, seed: int, shift: float) -> RunRecord:
    rng = np.random.default_rng(seed)
    labels = np.array([1, 0] * 12)
    target = rng.random(24) * 0.6 + labels * shift
    source = rng.random(24) * 0.5 + labels * 0.5
    result = evaluate_scores(target, labels, source_scores=source, source_labels=labels, step=20)
    history = _history([(10, 0.10 + 0.01 * seed, 0.95), (20, 0.4, float(result.auc))])
    return RunRecord(variant, task, seed, result, history, Path("none"), 0.0)


def test_the_three_tables_are_named_and_only_the_full_oracle_matches_published_tables() -> None:
    records = [
        _record(v, t, s, shift)
        for s in (0, 1, 2)
        for t in ("T1", "T2")
        for v, shift in (("full", 0.3), ("baseline", 0.1))
    ]
    res = assemble_result(records, variants=["full", "baseline"], seeds=[0, 1, 2],
                          threshold="source_val_eer", checkpoint_policy="best_source_val",
                          data="synthetic", env={})  # fmt: skip
    md = res.to_markdown()
    honest = md.index("**Honest**")
    full = md.index(f"**{FULL_ORACLE}**")
    oracle = md.index("**Oracle threshold (honest checkpoint)**")
    assert honest < full < oracle < md.index("Seed 0:")
    assert md.count("Full oracle: comparable with published tables") == 1 + 3  # summary, seeds
    assert "Oracle numbers: comparable" not in md
    tail = md[oracle : md.index("Seed 0:")]
    assert "not what published tables report" in tail and "comparable with" not in tail
    # The full oracle is the target-best evaluation of each run's history: step 10 here.
    fo = res.full_oracle_summary
    assert fo is not None and fo.title == FULL_ORACLE
    cell = fo.cells[0]
    assert (cell.task, cell.variant) == ("T1", "full")
    assert cell.hter == pytest.approx([0.10, 0.11, 0.12]) and cell.auc == [0.95] * 3
    assert cell.steps == [10, 10, 10] and cell.acer is None
    assert "| full (full oracle) | 11.00 ± 1.00 | 95.00 ± 0.00 |" in md
    assert res.summary is not None and res.summary.cells[0].acer is not None

    data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert list(data) == [
        "environment", "seeds", "data", "summary", "full_oracle_summary",
        "oracle_threshold_summary", "per_seed",
    ]  # fmt: skip
    assert data["full_oracle_summary"]["table"] == FULL_ORACLE
    assert data["oracle_threshold_summary"]["table"] == "Oracle threshold (honest checkpoint)"
    assert data["summary"]["correction"] == "holm" and data["summary"]["primary_endpoint"] == "auc"
    entry = data["per_seed"]["1"]["full (full oracle)"]
    assert entry["checkpoint_policy"] == "oracle_best_target" and entry["oracle"] is True
    assert entry["tasks"][0] == {"task": "T1", "step": 10, "hter": 0.11, "auc": 0.95,
                                 "eer": 0.11, "acer": None}  # fmt: skip

    rows = list(csv.reader(io.StringIO(res.to_csv())))
    assert rows[0] == ["threshold_strategy", "row", "task", "seed", "hter", "auc", "eer", "acer"]
    tables = list(dict.fromkeys(r[0] for r in rows[1:]))
    assert tables == [
        "source_val_eer",
        "oracle_target_eer + oracle_best_target (full oracle)",
        "oracle_target_eer (oracle threshold, honest checkpoint)",
    ]
    p_rows = [r for r in rows if r[1] == "full - baseline" and r[3] in ("p", "p_holm")]
    assert len(p_rows) == 3 * 2 * 2 and all(r[4] == "" for r in p_rows)
    first = res.summary.pairs[0]
    assert float(p_rows[0][5]) == pytest.approx(first.auc_p)
    assert float(p_rows[1][5]) == pytest.approx(first.auc_p_holm)


def test_one_seed_tests_auc_with_the_bootstrap() -> None:
    from disentangle_fas.training.protocol_stats import TargetScores

    records, aucs = [], []
    for v, shift in (("full", 0.6), ("baseline", 0.0)):
        rec = _record(v, "T1", 0, shift)
        rng = np.random.default_rng(5)
        labels = np.array([1, 0] * 20)
        scores = rng.random(40) * 0.5 + labels * shift
        rec.target_scores = TargetScores(scores, labels, 0.5)
        records.append(rec)
        aucs.append(metrics.auc(scores, labels))
    res = assemble_result(records, variants=["full", "baseline"], seeds=[0],
                          threshold="source_val_eer", checkpoint_policy="best_source_val",
                          data="synthetic", env={}, bootstrap_resamples=199)  # fmt: skip
    assert res.summary is not None
    (pair,) = res.summary.pairs
    assert pair.auc.method == "bootstrap" and pair.auc_p == pytest.approx(2 / 200)
    assert pair.auc_p_holm == pair.auc_p  # a family of one
    # Full separates the target videos perfectly; the difference is that of their scores.
    assert aucs[0] == 1.0 and pair.auc.estimate == pytest.approx(aucs[0] - aucs[1])
    assert res.summary.summary_line() == (
        "Summary (honest): AUC (primary endpoint), family: 1 task x 1 comparison (full - "
        "baseline), paired bootstrap over target videos (199 resamples, one seed), Holm-adjusted p < "
        f"0.05: full - baseline AUC higher on T1 ({100 * pair.auc.estimate:+.1f} points, Holm "
        "p = 0.010)."
    )


def test_the_run_line_says_how_source_validation_was_held_out() -> None:
    def assemble(splits: dict[str, str]) -> str:
        records = []
        for task, split in splits.items():
            rec = _record("full", task, 0, 0.3)
            rec.source_val_split = split
            records.append(rec)
        res = assemble_result(records, variants=["full"], seeds=[0], data="synthetic",
                              threshold="source_val_eer", checkpoint_policy="best_source_val",
                              env={"torch": "x"}, bootstrap_resamples=20)  # fmt: skip
        return str(res.env["source validation held out by"])

    assert assemble({"T1": "subject", "T2": "subject"}) == "subject"
    assert assemble({"T1": "split"}) == "the benchmark's dev split (other people)"
    assert assemble({"T1": "subject", "T2": "video"}) == "T1: subject; T2: video"
