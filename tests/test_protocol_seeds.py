"""Seeds, aggregates and paired-difference intervals of the protocol runner."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

from _fake_task import fake_task
from disentangle_fas.errors import UsageError
from disentangle_fas.metrics import Report, evaluate_scores, t_quantile
from disentangle_fas.training import TrainConfig, run_protocol
from disentangle_fas.training.cli import protocol_main
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.loop import TrainResult
from disentangle_fas.training.methods import uses_content
from disentangle_fas.training.protocol import prune_run
from disentangle_fas.training.protocol_stats import TargetScores, summarize_seeds

pytestmark = pytest.mark.filterwarnings("ignore:SharedStemEncoders. no ImageNet weights")


def _report(scores: list[float], labels: list[int], method: str) -> Report:
    return Report.from_results(
        {"T": evaluate_scores(scores, labels)},
        threshold_strategy="oracle_target_eer",
        checkpoint_policy="last",
        method=method,
    )


LABELS = [1, 1, 1, 1, 0, 0, 0, 0]


def test_summarize_seeds_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    per_seed = {}
    for seed in (3, 4, 5):
        a = (rng.random(8) + np.array(LABELS) * 0.6).tolist()
        b = (rng.random(8) + np.array(LABELS) * 0.2).tolist()
        per_seed[seed] = {
            "full": _report(a, LABELS, "full"),
            "baseline": _report(b, LABELS, "baseline"),
        }
    s = summarize_seeds(per_seed)
    full = [per_seed[k]["full"].tasks[0].hter for k in (3, 4, 5)]
    base = [per_seed[k]["baseline"].tasks[0].hter for k in (3, 4, 5)]
    cell = s.cells[0]
    assert cell.variant == "full" and cell.hter == full
    assert cell.hter_stats.std == pytest.approx(np.std(full, ddof=1))
    (pair,) = s.pairs
    d = np.subtract(full, base)
    half = t_quantile(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert pair.hter.low == pytest.approx(d.mean() - half)
    assert pair.hter_per_seed == pytest.approx(d.tolist())
    md = s.to_markdown()
    assert "mean ± std over 3 seeds" in md and "full − baseline" in md
    # AUC is the primary endpoint: a paired t-test over the seeds, Holm-adjusted (one task).
    ad = np.subtract(
        [per_seed[k]["full"].tasks[0].auc for k in (3, 4, 5)],
        [per_seed[k]["baseline"].tasks[0].auc for k in (3, 4, 5)],
    )
    t = ad.mean() / (ad.std(ddof=1) / np.sqrt(3))
    assert pair.auc_p == pytest.approx(1 - abs(t) / np.sqrt(t * t + 2))  # df = 2 closed form
    assert pair.auc_p_holm == pair.auc_p
    assert s.summary_line().startswith(
        "Summary: AUC (primary endpoint), family: 1 task x 1 comparison (full - baseline), "
        "paired t-test over 3 seeds, Holm-adjusted"
    )
    rows = s.csv_rows("x")
    assert [r[3] for r in rows[:5]] == [3, 4, 5, "mean", "std"]
    eers = [per_seed[k]["full"].tasks[0].eer for k in (3, 4, 5)]
    assert [r[6] for r in rows[:3]] == eers
    assert [r[7] for r in rows[:3]] == [per_seed[k]["full"].tasks[0].acer for k in (3, 4, 5)]


def test_cell_and_pair_dicts_name_every_value() -> None:
    per_seed = {
        seed: {
            "full": _report([0.9, 0.8, 0.7, 0.6, 0.1, 0.2, 0.65, 0.4], LABELS, "full"),
            "baseline": _report([0.9, 0.3, 0.7, 0.6, 0.5, 0.2, 0.65, 0.4], LABELS, "baseline"),
        }
        for seed in (0, 1)
    }
    s = summarize_seeds(per_seed)
    cell, pair = s.cells[0].to_dict(), s.pairs[0].to_dict()
    assert list(cell) == [
        "task", "variant", "hter_per_seed", "auc_per_seed", "hter", "auc", "hter_interval",
        "eer_per_seed", "acer_per_seed", "eer", "acer", "step_per_seed",
    ]  # fmt: skip
    assert cell["hter_per_seed"] == s.cells[0].hter
    assert cell["hter"] == s.cells[0].hter_stats.to_dict()
    assert list(pair) == [
        "task", "a", "b", "hter_diff_per_seed", "auc_diff_per_seed", "hter_diff", "auc_diff",
        "auc_p", "auc_p_holm",
    ]  # fmt: skip
    assert (pair["a"], pair["b"]) == ("full", "baseline")
    assert pair["auc_diff"] == s.pairs[0].auc.to_dict()
    assert s.to_dict()["pairs"] == [pair]
    json.dumps(s.to_dict(), allow_nan=False)


def test_single_seed_uses_a_paired_bootstrap() -> None:
    good = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]
    bad = [0.2, 0.6, 0.3, 0.7, 0.4, 0.8, 0.5, 0.1]
    per_seed = {
        0: {"full": _report(good, LABELS, "full"), "baseline": _report(bad, LABELS, "baseline")}
    }
    y = np.array(LABELS)
    scores = {
        ("full", "T"): TargetScores(np.array(good), y, 0.5),
        ("baseline", "T"): TargetScores(np.array(bad), y, 0.5),
    }
    s = summarize_seeds(per_seed, scores=scores, resamples=200)
    (pair,) = s.pairs
    assert pair.hter.method == "bootstrap" and pair.auc.method == "bootstrap"
    # Full separates perfectly at 0.5: HTER 0; baseline: FAR 2/4 (0.8, 0.5 accepted since
    # score >= threshold), FRR 2/4 (0.2, 0.3).
    assert pair.hter.estimate == pytest.approx(0.0 - (0.5 + 0.5) / 2)
    assert s.cells[0].hter_interval is not None
    assert 0 < pair.auc_p <= 1 and pair.auc_p_holm == pair.auc_p  # bootstrap p, family of 1
    assert "paired bootstrap over target videos (200 resamples, one seed)" in s.summary_line()
    again = summarize_seeds(per_seed, scores=scores, resamples=200)
    assert again.pairs[0].hter == pair.hter and again.pairs[0].auc_p == pair.auc_p  # seeded


def test_each_seed_draws_its_data_once_for_every_variant(tmp_path: Path) -> None:
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=2, batch_size=6, depth=10,
                      image_size=32, warmup_steps=1, progress=False, seed=7)  # fmt: skip
    built: list[int] = []

    def builder(c: TrainConfig):  # type: ignore[no-untyped-def]
        built.append(c.seed)
        return fake_task()

    lines: list[str] = []
    seen: list[tuple[str, int, bool, int]] = []

    def after_run(variant: str, task: TaskData, seed: int, _: TrainResult) -> None:
        seen.append((variant, seed, task.content is not None, id(task.train)))

    res = run_protocol(cfg, tasks=["T1"], variants=["full", "baseline"], seeds=2,
                       task_builder=builder, echo=lines.append, after_run=after_run)  # fmt: skip
    # The data is built once per task and seed, with that seed, for every variant (paired
    # by seed); the baseline (no E_C) sees it without the content target.
    assert res.seeds == [7, 8] and built == [7, 8]
    assert [(v, s, c) for v, s, c, _ in seen] == [
        ("full", 7, True),
        ("baseline", 7, False),
        ("full", 8, True),
        ("baseline", 8, False),
    ]
    assert seen[0][3] == seen[1][3] != seen[2][3] == seen[3][3]
    assert lines[0].startswith("protocol: 1 task x 2 variants x 2 seeds = 4 runs on 1 worker;")
    assert len(lines) == 1 + 4 and (tmp_path / "full" / "T1" / "seed8").is_dir()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["seeds"] == [7, 8] and data["environment"]["threads"] >= 1
    assert "torch" in data["environment"] and "device" in data["environment"]
    cell = data["summary"]["cells"][0]
    per = [data["per_seed"][str(s)][cell["variant"]]["tasks"][0]["hter"] for s in (7, 8)]
    assert cell["hter_per_seed"] == per
    assert cell["hter"]["mean"] == pytest.approx(np.mean(per))
    # The full oracle: each run's evaluation with the lowest target HTER (one here).
    full_oracle = data["full_oracle_summary"]["cells"][0]
    runs = {(r.variant, r.seed): r for r in res.records}
    hist = [runs[(full_oracle["variant"], s)].history[-1] for s in (7, 8)]
    assert full_oracle["hter_per_seed"] == [h["target_hter_oracle"] for h in hist]
    assert full_oracle["auc_per_seed"] == [h["target_auc"] for h in hist]
    assert "oracle_threshold_summary" in data
    rows = list(csv.reader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert rows[0] == ["threshold_strategy", "row", "task", "seed", "hter", "auc", "eer", "acer"]
    assert any(r[1] == "full - baseline" and r[3] == "ci_low" for r in rows)
    assert any(r[1] == "full - baseline" and r[3] == "p_holm" for r in rows)
    md = (tmp_path / "results.md").read_text()
    assert "±" in md and "Seed 8:" in md and "Summary (honest): AUC (primary endpoint)" in md
    assert "Summary (full oracle): AUC" in md and "Summary (oracle threshold): AUC" in md
    with pytest.raises(ValueError, match="seeds"):
        run_protocol(cfg, tasks=["T1"], seeds=0, task_builder=builder)


def test_protocol_command_refuses_bad_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert protocol_main(["--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert "--seeds 0" in err and "Traceback" not in err and err.count("\n") == 1
    assert issubclass(UsageError, Exception)


def test_a_content_variant_after_a_content_free_one_rebuilds_the_task(tmp_path: Path) -> None:
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=2, batch_size=6, depth=10,
                      image_size=32, warmup_steps=1, progress=False)  # fmt: skip
    calls: list[bool] = []

    def builder(c: TrainConfig) -> TaskData:
        calls.append(uses_content(c))
        task = fake_task()
        return task if uses_content(c) else dataclasses.replace(task, content=None)

    run_protocol(cfg, tasks=["T1"], variants=["baseline", "full", "content"], seeds=1,
                 task_builder=builder, echo=lambda _: None)  # fmt: skip
    assert calls == [False, True]  # "content" reuses the build made for "full"


@pytest.mark.parametrize("keep", ["all", "chosen", "none"])
def test_keep_prunes_the_weight_files_of_finished_runs(tmp_path: Path, keep: str) -> None:
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=1, batch_size=6, depth=10,
                      image_size=32, warmup_steps=1, progress=False)  # fmt: skip
    res = run_protocol(cfg, tasks=["T1"], variants=["baseline"], seeds=1,
                       task_builder=lambda c: fake_task(), echo=lambda _: None,
                       keep=keep)  # type: ignore[arg-type]  # fmt: skip
    run = tmp_path / "baseline" / "T1"
    left = sorted(p.name for p in run.glob("*.safetensors"))
    expected = {
        "all": ["best_oracle.safetensors", "best_source_val.safetensors", "last.safetensors",
                "state.safetensors"],
        "chosen": ["best_source_val.safetensors"],
        "none": [],
    }[keep]  # fmt: skip
    assert left == expected
    assert {"config.json", "log.jsonl", "result.json"} <= {p.name for p in run.iterdir()}
    assert (
        res.runs[("baseline", "fake A&B&C to D")].checkpoint.name == "best_source_val.safetensors"
    )


def test_resume_evaluates_a_pruned_finished_run_again_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import disentangle_fas.training.loop as loop

    steps: list[int] = []
    real_step = loop._step_gradients

    def counted(*args: object, **kwargs: object) -> object:
        steps.append(1)
        return real_step(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "_step_gradients", counted)
    cfg = TrainConfig(out=str(tmp_path), steps=2, eval_every=1, batch_size=6, depth=10,
                      image_size=32, warmup_steps=1, progress=False)  # fmt: skip
    kw: dict = dict(tasks=["T1"], variants=["baseline"], seeds=1, echo=lambda _: None,
                    task_builder=lambda c: fake_task(), keep="chosen")  # fmt: skip
    first = run_protocol(cfg, **kw)
    run = tmp_path / "baseline" / "T1"
    log = (run / "log.jsonl").read_text()
    assert len(steps) == 2
    again = run_protocol(cfg.replace(resume=True), **kw)
    assert len(steps) == 2  # not trained again
    assert (run / "log.jsonl").read_text().count('"kind": "train"') == log.count('"kind": "train"')
    assert sorted(p.name for p in run.glob("*.safetensors")) == ["best_source_val.safetensors"]
    key = ("baseline", "fake A&B&C to D")
    assert again.runs[key].history == first.runs[key].history
    assert again.runs[key].result == first.runs[key].result  # the same checkpoint, scored again
    # keep="none" leaves no checkpoint, but the run's record is enough: not trained again.
    none_cfg = cfg.replace(out=str(tmp_path / "none"))
    pruned = run_protocol(none_cfg, **{**kw, "keep": "none"})
    read = run_protocol(none_cfg.replace(resume=True), **{**kw, "keep": "none"})
    assert len(steps) == 2 + 2
    assert read.to_dict() == pruned.to_dict()


def test_prune_run_refuses_an_unknown_choice(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep must be one of"):
        prune_run(tmp_path / "best_source_val.safetensors", "some")  # type: ignore[arg-type]
    trained: list[str] = []
    with pytest.raises(ValueError, match="keep must be one of"):  # before any training
        run_protocol(TrainConfig(out=str(tmp_path)), tasks=["T1"], keep="some",  # type: ignore[arg-type]
                     task_builder=lambda c: trained.append(c.task) or fake_task())  # type: ignore[func-returns-value]  # fmt: skip
    assert trained == []
