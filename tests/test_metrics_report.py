"""Report rendering: Markdown, CSV and JSON contents and round trips, ROC PNG."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from disentangle_fas.metrics import (
    CheckpointPolicy,
    EvaluationResult,
    Report,
    TaskMetrics,
    ThresholdStrategy,
    evaluate_scores,
    save_roc_png,
)


def _result(seed: int, with_videos: bool = False) -> EvaluationResult:
    rng = np.random.default_rng(seed)
    n = 120
    labels = (np.arange(n) % 2).astype(int)
    attacks = np.where(labels == 1, 0, 1 + (np.arange(n) // 2) % 2)
    scores = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * (2 * labels - 1))))
    source = 1 / (1 + np.exp(-(rng.normal(size=n) + 2.0 * (2 * labels - 1))))
    # Frames i and i + 60 form one video: same label and attack type.
    video_ids = [f"v{i % 60}" for i in range(n)] if with_videos else None
    return evaluate_scores(
        scores,
        labels,
        attacks=attacks,
        video_ids=video_ids,
        source_scores=source,
        source_labels=(np.arange(n) % 2),
        step=seed * 10,
    )


@pytest.fixture
def results() -> dict[str, EvaluationResult]:
    return {"O&C&I to M": _result(1), "O&M&I to C": _result(2, with_videos=True)}


def test_task_metrics_from_result(results: dict[str, EvaluationResult]) -> None:
    r = results["O&M&I to C"]
    row = TaskMetrics.from_result("O&M&I to C", r, "source_val_eer", "best_source_val")
    assert r.honest is not None
    assert row.hter == r.honest.hter
    assert row.threshold == r.honest.threshold
    assert row.acer == r.honest.acer
    assert row.auc == r.auc and row.eer == r.eer
    assert (row.num_samples, row.num_videos, row.level) == (120, 60, "video")
    assert row.checkpoint == 20
    assert row.threshold_strategy is ThresholdStrategy.SOURCE_VAL_EER
    assert row.checkpoint_policy is CheckpointPolicy.BEST_SOURCE_VAL


def test_markdown_paper_style(results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(
        results,
        threshold_strategy=ThresholdStrategy.ORACLE_TARGET_EER,
        checkpoint_policy=CheckpointPolicy.ORACLE_BEST_TARGET,
        method="Ours",
    )
    text = report.to_markdown()
    lines = text.splitlines()
    assert lines[0] == (
        "| Method | O&C&I to M HTER (%) | O&C&I to M AUC (%) | O&M&I to C HTER (%) "
        "| O&M&I to C AUC (%) |"
    )
    assert lines[1] == "| --- | ---: | ---: | ---: | ---: |"
    a, c = results["O&C&I to M"], results["O&M&I to C"]
    assert lines[2] == (
        f"| Ours | {100 * a.oracle.hter:.2f} | {100 * a.auc:.2f} | "
        f"{100 * c.oracle.hter:.2f} | {100 * c.auc:.2f} |"
    )
    assert "Threshold strategy: oracle_target_eer (oracle" in text
    assert "Checkpoint policy: oracle_best_target (oracle" in text
    assert "Oracle numbers" in text
    assert report.is_oracle


def test_markdown_detailed_and_honest(results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(
        results, threshold_strategy="source_val_eer", checkpoint_policy="last"
    )
    text = report.to_markdown(detailed=True, digits=1)
    assert not report.is_oracle
    assert "Oracle numbers" not in text
    assert "Threshold strategy: source_val_eer (honest" in text
    assert "Checkpoint policy: last (last checkpoint" in text
    assert "| Task | HTER (%) | AUC (%) | EER (%) | Threshold | APCER (%)" in text
    c = results["O&M&I to C"]
    assert c.honest is not None
    detail = next(line for line in text.splitlines() if line.startswith("| O&M&I to C |"))
    cells = [x.strip() for x in detail.strip("|").split("|")]
    assert cells[1] == f"{100 * c.honest.hter:.1f}"
    assert cells[4] == f"{c.honest.threshold:.4f}"
    assert cells[7] == f"{100 * c.honest.acer:.1f}"
    assert cells[-3:] == ["video", "120", "60"]


def test_markdown_escapes_pipes() -> None:
    r = _result(3)
    text = Report.from_results(
        {"a|b": r}, threshold_strategy="fixed", checkpoint_policy="last"
    ).to_markdown()
    assert "a\\|b HTER (%)" in text


def test_json_round_trip(results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(
        results, threshold_strategy="fixed", checkpoint_policy="best_source_val", method="M"
    )
    text = report.to_json()
    data = json.loads(text)
    assert data["threshold_strategy"] == "fixed"
    assert data["checkpoint_policy"] == "best_source_val"
    assert data["oracle"] is False
    assert "fixed threshold" in data["threshold_strategy_description"]
    assert [t["task"] for t in data["tasks"]] == ["O&C&I to M", "O&M&I to C"]
    fixed = results["O&C&I to M"].fixed
    assert fixed is not None
    assert data["tasks"][0]["hter"] == fixed.hter
    assert data["tasks"][0]["apcer_per_attack"] == {
        str(k): v for k, v in fixed.apcer_per_attack.items()
    }
    assert data["tasks"][0]["num_videos"] is None
    back = Report.from_json(text)
    assert back == report
    assert back.tasks[0].apcer_per_attack == fixed.apcer_per_attack


def test_csv_round_trip(results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(
        results, threshold_strategy="oracle_target_eer", checkpoint_policy="last"
    )
    text = report.to_csv()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["task"] for r in rows] == ["O&C&I to M", "O&M&I to C"]
    assert all(r["threshold_strategy"] == "oracle_target_eer" for r in rows)
    assert all(r["checkpoint_policy"] == "last" for r in rows)
    a = results["O&C&I to M"]
    assert float(rows[0]["hter"]) == a.oracle.hter
    assert float(rows[0]["tpr_at_fpr_1pct"]) == a.tpr_at_fpr_1pct
    assert rows[0]["num_videos"] == ""
    assert rows[1]["num_videos"] == "60"
    assert json.loads(rows[0]["apcer_per_attack"]) == {
        str(k): v for k, v in a.oracle.apcer_per_attack.items()
    }
    assert Report.from_csv(text) == report


def test_report_validation(results: dict[str, EvaluationResult]) -> None:
    a = TaskMetrics.from_result("A", results["O&C&I to M"], "oracle_target_eer", "last")
    b = TaskMetrics.from_result("B", results["O&C&I to M"], "fixed", "last")
    with pytest.raises(ValueError, match="one threshold strategy and one checkpoint policy"):
        Report([a, b])
    with pytest.raises(ValueError, match="unique"):
        Report([a, a])
    with pytest.raises(ValueError, match="at least one task"):
        Report([])
    no_source = evaluate_scores([0.9, 0.1], [1, 0])
    with pytest.raises(ValueError, match="no 'source_val_eer' operating point"):
        Report.from_results({"X": no_source}, threshold_strategy="source_val_eer",
                            checkpoint_policy="last")  # fmt: skip


def test_save_by_suffix(tmp_path: Path, results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(results, threshold_strategy="fixed", checkpoint_policy="last")
    assert report.save(tmp_path / "r.md").read_text() == report.to_markdown()
    assert Report.from_csv(report.save(tmp_path / "r.csv").read_text()) == report
    assert Report.from_json(report.save(tmp_path / "sub" / "r.json").read_text()) == report
    with pytest.raises(ValueError, match="unknown report format"):
        report.save(tmp_path / "r.txt")


def test_roc_png_written(tmp_path: Path, results: dict[str, EvaluationResult]) -> None:
    report = Report.from_results(results, threshold_strategy="fixed", checkpoint_policy="last")
    out = report.save_roc_png(tmp_path / "figs" / "roc.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000
    log_out = report.save_roc_png(tmp_path / "roc_log.png", log_fpr=True)
    assert log_out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no ROC curves"):
        Report.from_json(report.to_json()).save_roc_png(tmp_path / "x.png")
    with pytest.raises(ValueError, match="no ROC curves"):
        save_roc_png({}, tmp_path / "y.png")


def test_roc_png_without_matplotlib(
    tmp_path: Path, results: dict[str, EvaluationResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    report = Report.from_results(results, threshold_strategy="fixed", checkpoint_policy="last")
    with pytest.raises(ImportError, match=r'pip install "disentangle-fas\[plots\]"'):
        report.save_roc_png(tmp_path / "roc.png")
    assert not (tmp_path / "roc.png").exists()
