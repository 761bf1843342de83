"""Run-directory helpers, log trimming, finiteness checks and the threshold parser."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from disentangle_fas.errors import ArgumentParser, RunDirectoryError
from disentangle_fas.inference.cli import parse_threshold
from disentangle_fas.training.guards import non_finite_tensors
from disentangle_fas.training.logging import trim_log
from disentangle_fas.training.rundir import (
    RESUME_IGNORED_FIELDS,
    RunDirectory,
    config_changes,
    orphaned_temporaries,
)


@given(steps=st.lists(st.integers(0, 50), max_size=30), keep=st.integers(0, 50))
def test_trim_log_keeps_rows_up_to_the_step(
    tmp_path_factory: pytest.TempPathFactory, steps: list[int], keep: int
) -> None:
    path = tmp_path_factory.mktemp("log") / "log.jsonl"
    rows = [{"kind": "train", "step": s, "i": i} for i, s in enumerate(steps)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"kind": "tr')  # torn
    removed = trim_log(path, keep)
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert kept == [r for r in rows if r["step"] <= keep]  # order kept, torn line gone
    assert removed == len(rows) - len(kept) + 1


def test_trim_log_leaves_a_missing_file_missing(tmp_path: Path) -> None:
    assert trim_log(tmp_path / "log.jsonl", 3) == 0
    assert not (tmp_path / "log.jsonl").exists()


def test_config_changes_ignores_run_only_fields() -> None:
    stored = {"lr": 0.1, "seed": 0, "device": "cpu", "num_workers": 0, "old_field": 1}
    current = {"lr": 0.2, "seed": 0, "device": "cuda", "num_workers": 4, "new_field": 2}
    assert config_changes(stored, current) == {"lr": (0.1, 0.2)}
    assert {"device", "num_workers", "out", "resume"} <= RESUME_IGNORED_FIELDS
    assert "lr" not in RESUME_IGNORED_FIELDS and "steps" not in RESUME_IGNORED_FIELDS


def test_orphaned_temporaries_are_only_hidden_write_leftovers(tmp_path: Path) -> None:
    names = [".state.safetensors.abc.tmp", ".best_oracle.safetensors.link", ".lock", "a.tmp"]
    names += ["last.safetensors", ".hidden"]
    for n in names:
        (tmp_path / n).write_text("")
    found = [p.name for p in orphaned_temporaries(tmp_path)]
    assert found == [".best_oracle.safetensors.link", ".state.safetensors.abc.tmp"]
    assert orphaned_temporaries(tmp_path / "missing") == []


def test_prepare_cleans_trims_and_writes_the_config(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / ".last.safetensors.x.tmp").write_bytes(b"half")
    rows = [{"kind": "train", "step": s} for s in (1, 2, 3)]
    (out / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = RunDirectory(out, resume=True).open({"lr": 1.0})
    try:
        assert (out / ".lock").read_text().startswith("pid ")
        run.prepare({"lr": 1.0}, 2)
    finally:
        run.close()
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "log.jsonl"]
    assert [json.loads(x)["step"] for x in (out / "log.jsonl").read_text().splitlines()] == [1, 2]
    assert json.loads((out / "config.json").read_text()) == {"lr": 1.0}


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(RunDirectoryError, match="is a file"):
        RunDirectory(tmp_path / "f").open({})


def test_non_finite_tensors_names_parameters_and_buffers() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    assert non_finite_tensors(net) == []
    with torch.no_grad():
        net[0].bias[1] = float("inf")
    net[1].running_var[0] = float("nan")
    assert non_finite_tensors(net) == ["0.bias", "1.running_var"]


@pytest.mark.parametrize("text", ["0", "0.25", "1", "1e-3"])
def test_parse_threshold_accepts_probabilities(text: str) -> None:
    assert parse_threshold(text) == float(text)


@pytest.mark.parametrize("text", ["5", "-0.1", "1.01", "nan", "inf", "x"])
def test_parse_threshold_refuses_the_rest(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"in \[0, 1\]"):
        parse_threshold(text)


def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = ArgumentParser(prog="tool")
    parser.add_argument("--mode", choices=("a", "b"))
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--mode", "c"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("tool: error: argument --mode: invalid choice: 'c'") and "'a'" in err


def test_a_busy_folder_is_refused_before_torch_is_imported(tmp_path: Path) -> None:
    import subprocess
    import sys

    from disentangle_fas.errors import RunLockedError
    from disentangle_fas.training.rundir import RunDirectory

    missing = tmp_path / "nothing-here"
    RunDirectory.check_free(missing)  # free, and nothing is created
    assert not missing.exists()
    out = tmp_path / "run"
    holder = RunDirectory(out=out).open({"seed": 0})
    try:
        with pytest.raises(RunLockedError, match="is in use by another run"):
            RunDirectory.check_free(out)
        code = (
            "import sys; from disentangle_fas.cli import main; "
            f"c = main(['train', '--out', {str(out)!r}]); print('torch' in sys.modules, c)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
        )
        assert proc.stdout.split() == ["False", "1"], proc.stdout + proc.stderr
        assert "is in use by another run" in proc.stderr
    finally:
        holder.close()
    RunDirectory.check_free(out)  # released
