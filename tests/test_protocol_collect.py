"""Run records, unit selection and the plan file: what ``protocol --collect`` reads."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _fake_task import fake_task_builder, tiny_config
from disentangle_fas.metrics import evaluate_scores
from disentangle_fas.training.collect import collect, merged_environment
from disentangle_fas.training.protocol import run_protocol, run_units
from disentangle_fas.training.protocol_report import RunRecord
from disentangle_fas.training.protocol_stats import TargetScores
from disentangle_fas.training.run_record import (
    FAILURE_NAME,
    RECORD_NAME,
    read_record,
    record_from_dict,
    record_to_dict,
    result_from_dict,
    result_to_dict,
    write_failure,
    write_record,
)
from disentangle_fas.training.rundir import RunDirectory
from disentangle_fas.training.units import (
    PLAN_NAME,
    format_units,
    parse_shard,
    parse_units,
    read_plan,
    shard_numbers,
    write_plan,
)

_scores = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=4, max_size=40)


@settings(max_examples=30, deadline=None)
@given(_scores, st.floats(0.0, 1.0), st.integers(0, 3))
def test_a_result_read_back_from_json_equals_it_bit_for_bit(
    scores: list[float], source_shift: float, attack_kinds: int
) -> None:
    n = len(scores)
    labels = [i % 2 for i in range(n)]
    attacks = [0 if y else 1 + (i % (attack_kinds + 1)) for i, y in enumerate(labels)]
    src = [min(1.0, s * source_shift + 0.1 * y) for s, y in zip(scores, labels, strict=True)]
    r = evaluate_scores(scores, labels, attacks=attacks, source_scores=src, source_labels=labels,
                        video_ids=[i // 2 * 2 + y for i, y in enumerate(labels)], step=7)  # fmt: skip
    back = result_from_dict(json.loads(json.dumps(result_to_dict(r))))
    assert back == r
    assert back.oracle.apcer_per_attack == r.oracle.apcer_per_attack  # int keys again


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=20))
def test_a_record_keeps_every_float_and_the_target_scores_exactly(values: list[float]) -> None:
    r = evaluate_scores([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    scores = np.array([abs(v) % 1 if math.isfinite(v) else 0.5 for v in values], np.float64)
    rec = RunRecord("full", "OCI->M", 3, r, [{"step": 2, "loss": v} for v in values],
                    Path("x/best.safetensors"), 1.5,
                    TargetScores(scores, np.arange(len(values)) % 2, 0.25),
                    {"values": {"a": 0.5}}, "split")  # fmt: skip
    data = json.loads(json.dumps(record_to_dict(rec, key="k", fingerprint="f", env={})))
    back = record_from_dict(data)
    assert back.result == rec.result and back.extra == rec.extra
    for a, b in zip(back.history, rec.history, strict=True):
        assert a["loss"] == b["loss"] or (math.isnan(a["loss"]) and math.isnan(b["loss"]))
    assert back.target_scores is not None
    assert back.target_scores.scores.tobytes() == scores.tobytes()
    assert back.target_scores.labels.dtype == np.int64


def test_records_are_found_only_for_their_configuration(tmp_path: Path) -> None:
    r = evaluate_scores([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0])
    rec = RunRecord("full", "T", 0, r, [], tmp_path / "c", 1.0, extra=object())
    write_failure(tmp_path, key="k", error=RuntimeError("first try"))
    write_record(tmp_path, rec, key="k", fingerprint="abc", env={"torch": "x"})
    assert not (tmp_path / FAILURE_NAME).exists()  # a success replaces the failure
    data = json.loads((tmp_path / RECORD_NAME).read_text())
    assert data["extra"] is None and data["extra_not_stored"] == "object"
    assert read_record(tmp_path, "abc") is not None
    assert read_record(tmp_path, "other") is None
    (tmp_path / RECORD_NAME).write_text("{not json")
    assert read_record(tmp_path) is None


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 60), st.integers(1, 9))
def test_the_shards_cover_every_unit_exactly_once(total: int, n: int) -> None:
    got = [u for k in range(1, n + 1) for u in shard_numbers(total, k, n)]
    assert sorted(got) == list(range(1, total + 1))
    assert all(len(shard_numbers(total, k, n)) <= math.ceil(total / n) for k in range(1, n + 1))


@given(st.sets(st.integers(1, 200), max_size=30))
def test_unit_lists_read_back_what_they_print(numbers: set[int]) -> None:
    text = format_units(sorted(numbers))
    assert (parse_units(text) if numbers else []) == sorted(numbers)


def test_bad_shards_and_unit_lists_are_refused() -> None:
    for bad in ("0/2", "3/2", "1", "a/b", "1/2/3"):
        with pytest.raises(ValueError, match="expected K/N"):
            parse_shard(bad)
    for bad in ("x", "3-1", "0", "1,,2"):
        with pytest.raises(ValueError, match="--units"):
            parse_units(bad)


def test_environments_merge_to_one_line_per_key() -> None:
    envs = [{"torch": "2", "device": "cpu"}, {"torch": "2", "device": "cuda (A)"}]
    assert merged_environment(envs) == {"torch": "2", "device": "cpu; cuda (A)"}
    assert merged_environment([]) == {}


def _kw() -> dict:
    return dict(tasks=["T1"], variants=["baseline", "full"], seeds=2, keep="none",
                task_builder=fake_task_builder, echo=lambda _: None, bootstrap_resamples=50)  # fmt: skip


def test_collect_names_missing_failed_and_stale_units_and_the_command_for_them(
    tmp_path: Path,
) -> None:
    cfg = tiny_config(str(tmp_path))
    cmd = ["disentangle-fas", "protocol", "--out", str(tmp_path)]
    run_units(cfg, units=[1, 4], command=cmd, **_kw())
    got = collect(tmp_path)
    assert [s.state for s in got.statuses] == ["finished", "missing", "missing", "finished"]
    assert got.resubmit_command() == f"disentangle-fas protocol --out {tmp_path} --units 2-3"
    assert not (tmp_path / "results.md").exists()
    plan = read_plan(tmp_path)
    assert [u.key for u in plan.units] == [
        "baseline/T1/seed0", "full/T1/seed0", "baseline/T1/seed1", "full/T1/seed1"
    ]  # fmt: skip
    # A failure's error is reported; a record of another configuration is not used.
    write_failure(plan.units[1].out, key=plan.units[1].key, error=ValueError("bad thing\nmore"))
    stale = Path(plan.units[3].out) / RECORD_NAME
    stale.write_text(stale.read_text().replace(plan.units[3].fingerprint, "0" * 16))
    report = collect(tmp_path).report()
    assert f"{tmp_path}: 1 of 4 units finished (failed 1, missing 1, stale 1)" in report
    assert "unit 2 full/T1/seed0: failed on " in report and "ValueError: bad thing" in report
    assert "unit 4 full/T1/seed1: record of another configuration" in report
    assert report.endswith("--units 2-4")


def test_another_protocol_in_the_same_folder_is_refused_before_any_run(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path))
    run_units(cfg, units=[1], **_kw())
    plan = read_plan(tmp_path)
    with pytest.raises(ValueError, match="holds another protocol's plan"):
        run_units(cfg.replace(steps=5), units=[2], **_kw())
    assert read_plan(tmp_path) == plan
    assert not Path(plan.units[1].out).exists()
    write_plan(tmp_path, plan)  # the same plan again is fine
    # So is one whose description or progress display differs (the runs are the same).
    reworded = dataclasses.replace(
        plan,
        description="other words",
        config={**plan.config, "progress": not plan.config["progress"]},
    )
    write_plan(tmp_path, reworded)
    with pytest.raises(ValueError, match="holds another protocol's plan"):
        write_plan(tmp_path, dataclasses.replace(plan, config={**plan.config, "lr": 0.5}))
    with pytest.raises(ValueError, match=r"units 9 are not in this protocol \(units 1-4\)"):
        run_units(cfg, units=[9], **_kw())


def test_a_finished_protocol_run_again_reads_its_records_and_overwrite_runs_it_again(
    tmp_path: Path,
) -> None:
    cfg = tiny_config(str(tmp_path))
    kw = {**_kw(), "variants": ["baseline"], "seeds": 1}
    first = run_protocol(cfg, **kw)
    lines: list[str] = []
    again = run_protocol(cfg, **{**kw, "echo": lines.append})
    assert "1 of 1 runs finished earlier (their records are read)" in lines
    assert again.to_dict() == first.to_dict()
    lines.clear()
    run_protocol(cfg.replace(overwrite=True), **{**kw, "echo": lines.append})
    assert any(ln.startswith("[1/1] baseline") for ln in lines)
    assert (tmp_path / PLAN_NAME).is_file()


def test_a_unit_another_process_holds_is_skipped_not_failed(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path))
    kw = {**_kw(), "variants": ["baseline"], "seeds": 2}
    run_units(cfg, units=[2], **kw)  # writes the plan; unit 1 has no folder yet
    folder = Path(read_plan(tmp_path).units[0].out)
    lines: list[str] = []
    with RunDirectory(folder).open({}):  # another run holds unit 1's folder
        done, outcome = run_units(cfg, **{**kw, "echo": lines.append})
    assert not outcome.failures and not (folder / FAILURE_NAME).exists()
    assert any(ln.startswith("run 1 baseline/T1/seed0 skipped: ") for ln in lines), lines
    assert [s.state for s in done.statuses] == ["missing", "finished"]


def test_collect_of_a_study_rebuilds_its_probe_tables_from_the_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from disentangle_fas.study import ProbeRun, run_study
    from disentangle_fas.training.cluster_cli import collect_main

    cfg = tiny_config(str(tmp_path), steps=2, eval_every=1)
    study = run_study("study-cpu", config=cfg, tasks=["T1"], variants=["baseline"], seeds=1,
                      task_builder=fake_task_builder, echo=lambda _: None,
                      probes=ProbeRun("cpu", kinds=("linear",), train_per_domain=8))  # fmt: skip
    probes = json.loads((tmp_path / "probes.json").read_text())
    assert read_plan(tmp_path).kind == "study"
    before = (tmp_path / "study.md").read_text()
    for name in ("study.md", "probes.json", "probes.csv", "results.md"):
        (tmp_path / name).unlink()
    assert collect_main(str(tmp_path)) == 0
    assert "## Disentanglement probes" in capsys.readouterr().out
    assert json.loads((tmp_path / "probes.json").read_text())["runs"] == probes["runs"]
    probe_part = (tmp_path / "study.md").read_text().split("## Disentanglement probes")[1]
    assert probe_part == before.split("## Disentanglement probes")[1]
    assert (tmp_path / "results.md").read_text() == study.protocol.to_markdown()
    # The runs' times are summed, and said to be (the runs may have run in parallel).
    assert "\nwall time " in before
    assert "\nrun time summed over runs " in (tmp_path / "study.md").read_text()


def test_interim_tables_cover_the_seeds_every_task_and_variant_finished(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from disentangle_fas.training.cluster_cli import collect_main

    cfg = tiny_config(str(tmp_path / "p"))
    three = {**_kw(), "seeds": 3}
    run_units(cfg, units=[1, 2, 3, 4, 5], **three)  # seeds 0 and 1 whole, seed 2 half
    got = collect(cfg.out)
    assert got.result is None and got.finished_seeds() == [0, 1]
    assert collect_main(cfg.out, interim=True) == 1  # the protocol is still unfinished
    printed = capsys.readouterr().out
    assert "interim tables over seeds 0, 1 (every task and variant)" in printed
    interim = json.loads((Path(cfg.out) / "interim" / "results.json").read_text())
    assert not (Path(cfg.out) / "results.json").exists()
    # The same as a protocol of seeds 0 and 1 alone, run apart.
    alone = tiny_config(str(tmp_path / "alone"))
    run_units(alone, **_kw())
    expected = collect(alone.out).result
    assert expected is not None
    same = json.loads(json.dumps(expected.to_dict()))
    for key in ("seeds", "summary", "per_seed", "full_oracle_summary", "oracle_threshold_summary"):
        assert interim[key] == same[key], key
    # With nothing finished there is nothing to assemble.
    empty = tiny_config(str(tmp_path / "e"))
    run_units(empty, units=[2], **_kw())
    assert collect(empty.out).finished_seeds() == [] and collect(empty.out).interim() is None


def test_an_interim_study_writes_every_table_into_interim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from disentangle_fas.study import ProbeRun, run_study
    from disentangle_fas.training.cluster_cli import collect_main

    cfg = tiny_config(str(tmp_path), steps=2, eval_every=1)
    run_study("study-cpu", config=cfg, tasks=["T1"], variants=["baseline"], seeds=2,
              task_builder=fake_task_builder, echo=lambda _: None,
              probes=ProbeRun("cpu", kinds=("linear",), train_per_domain=8))  # fmt: skip
    (Path(read_plan(tmp_path).units[1].out) / RECORD_NAME).unlink()  # seed 1 unfinished
    assert collect_main(str(tmp_path), interim=True) == 1
    assert "interim tables over seeds 0" in capsys.readouterr().out
    written = {p.name for p in (tmp_path / "interim").iterdir()}
    assert {"study.md", "probes.json", "probes.csv", "results.md", "results.json"} <= written
    study = (tmp_path / "interim" / "study.md").read_text()
    assert "; interim: seeds 0 of 2" in study and "one seed (seed 0)" in study
