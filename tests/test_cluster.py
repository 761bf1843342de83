"""``--launcher submitit``: the units submitted with submitit's local and debug executors
give the serial run's tables; a unit whose job fails is submitted again, then reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("submitit")  # the 'cluster' extra; CI installs it with 'dev'

from _fake_task import fake_task, fake_task_builder, tiny_config
from _unit_helpers import PROTOCOL, shared_cache, subprocess_env, synthetic_config
from disentangle_fas.synthetic.cache import CACHE_ENV
from disentangle_fas.training.collect import collect
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.launch import (
    ClusterOptions,
    UnitBatch,
    batches,
    make_executor,
    submitit_runner,
)
from disentangle_fas.training.protocol import run_protocol, run_units
from disentangle_fas.training.run_record import read_failure


def _options(tmp: Path, cluster: str, **kw: object) -> ClusterOptions:
    return ClusterOptions(cluster=cluster, folder=str(tmp / "submitit"), gpus_per_run=0,
                          cpus_per_run=1, poll_seconds=0.2, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_submitit_local_executor_gives_the_serial_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(shared_cache(tmp_path_factory)))
    monkeypatch.setenv("PYTHONPATH", subprocess_env()["PYTHONPATH"])
    serial = run_protocol(synthetic_config(tmp_path / "serial"), echo=lambda _: None, **PROTOCOL)
    lines: list[str] = []
    runner = submitit_runner(_options(tmp_path, "local", array_parallelism=2), echo=lines.append)
    done, outcome = run_units(
        synthetic_config(tmp_path / "local"), runner=runner, echo=lines.append, **PROTOCOL
    )
    assert any(ln.startswith("submitted 2 units as 2 local jobs") for ln in lines), lines
    assert done.complete and not outcome.failures and done.result is not None
    assert (tmp_path / "local" / "results.md").read_text() == (
        tmp_path / "serial" / "results.md"
    ).read_text()
    assert done.result.to_dict() == serial.to_dict()
    assert list((tmp_path / "submitit").glob("*_log.out"))  # each job's log is kept


def test_units_already_finished_are_not_submitted(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path / "p"))
    kw: dict = dict(tasks=["T1"], variants=["baseline"], seeds=2, task_builder=fake_task_builder,
                    keep="none", bootstrap_resamples=50)  # fmt: skip
    run_units(cfg, units=[1], echo=lambda _: None, **kw)
    lines: list[str] = []
    runner = submitit_runner(_options(tmp_path, "debug"), echo=lines.append)
    done, outcome = run_units(cfg, runner=runner, echo=lines.append, **kw)
    assert "1 of 2 runs finished earlier (not submitted)" in lines
    assert any(ln.startswith("submitted 1 units as 1 debug jobs") for ln in lines)
    assert done.complete and outcome.reused == 1


class _FailsOnSeedOne:
    """A task builder whose seed-1 task cannot be built (picklable)."""

    def __call__(self, cfg: TrainConfig) -> TaskData:
        if cfg.seed == 1:
            raise OSError("disk quota exceeded")
        return fake_task()


def test_a_failing_unit_is_retried_then_reported_with_its_error(tmp_path: Path) -> None:
    cfg = tiny_config(str(tmp_path / "p"))
    lines: list[str] = []
    runner = submitit_runner(_options(tmp_path, "debug", retries=1), echo=lines.append)
    done, outcome = run_units(cfg, tasks=["T1"], variants=["baseline"], seeds=2,
                              task_builder=_FailsOnSeedOne(), runner=runner, keep="none",
                              echo=lines.append)  # fmt: skip
    assert "submitting again (try 2): units 2" in lines
    assert list(outcome.failures) == [2]
    assert str(outcome.failures[2]) == "OSError: disk quota exceeded"
    assert not done.complete
    (status,) = done.unfinished
    assert status.state == "failed" and status.error == "OSError: disk quota exceeded"
    failure = read_failure(Path(status.unit.out))
    assert failure is not None and "disk quota exceeded" in failure["traceback"]
    assert collect(tmp_path / "p").statuses[0].state == "finished"


def test_the_job_that_finishes_the_last_unit_writes_the_tables(tmp_path: Path) -> None:
    from disentangle_fas.training.protocol_plan import plan_jobs

    cfg = tiny_config(str(tmp_path))
    kw: dict = dict(tasks=["T1"], variants=["baseline"], seeds=2, task_builder=fake_task_builder,
                    keep="none", bootstrap_resamples=50, echo=lambda _: None)  # fmt: skip
    run_units(cfg, units=[1], **kw)
    assert not (tmp_path / "results.md").exists()
    jobs = plan_jobs(cfg, ["T1"], ["baseline"], [0, 1], tmp_path, "none")
    assert UnitBatch(jobs, fake_task_builder, None, root=str(tmp_path))() == {1: None, 2: None}
    got = collect(tmp_path, write=False)
    assert got.complete and got.result is not None
    assert (tmp_path / "results.md").read_text() == got.result.to_markdown()


def test_unit_batches_deal_round_robin_and_requeue_themselves(tmp_path: Path) -> None:
    assert batches(list(range(5)), 2) == [[0, 2, 4], [1, 3]]
    assert batches(list(range(2)), 8) == [[0], [1]]
    batch = UnitBatch([], fake_task_builder, None)
    again = UnitBatch([], fake_task_builder, None, root=str(tmp_path)).checkpoint()
    assert isinstance(again.function, UnitBatch) and again.function.jobs == []
    assert again.function.root == str(tmp_path)
    assert batch() == {}


def test_slurm_jobs_ask_for_the_options_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 0\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    options = ClusterOptions(cluster="slurm", folder=str(tmp_path / "s"), gpus_per_run=2,
                             cpus_per_run=8, mem_gb=16, timeout_min=30, partition="gpu",
                             account="lab", array_parallelism=50)  # fmt: skip
    executor = make_executor(options, 200)
    assert executor.cluster == "slurm"
    params = executor._executor.parameters  # what goes into the sbatch script
    assert params == {"job_name": "disentangle-fas", "time": 30, "cpus_per_task": 8,
                      "gpus_per_node": 2, "ntasks_per_node": 1, "nodes": 1, "mem": "16GB",
                      "array_parallelism": 50, "partition": "gpu", "account": "lab"}  # fmt: skip
    assert make_executor(options, 3)._executor.parameters["array_parallelism"] == 3


def test_command_line_options_become_the_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from disentangle_fas.training import launch
    from disentangle_fas.training.cluster_cli import add_cluster_arguments, runner_from_args

    parser = argparse.ArgumentParser()
    add_cluster_arguments(parser)
    args = parser.parse_args(["--launcher", "submitit", "--cluster", "slurm", "--slurm-partition",
                              "gpu", "--gpus-per-run", "2", "--timeout-min", "30", "--no-wait",
                              "--retries", "3"])  # fmt: skip
    seen: dict = {}
    monkeypatch.setattr(launch, "submitit_runner",
                        lambda options, root=None: seen.update(options=options, root=root))  # fmt: skip
    runner_from_args(args, str(tmp_path))
    o = seen["options"]
    assert (o.cluster, o.partition, o.gpus_per_run, o.timeout_min, o.retries, o.wait) == (
        "slurm", "gpu", 2, 30, 3, False
    )  # fmt: skip
    assert o.folder == str(tmp_path / "submitit") and seen["root"] == str(tmp_path)
    assert runner_from_args(parser.parse_args([]), str(tmp_path)) is None


def test_cluster_options_are_checked() -> None:
    with pytest.raises(ValueError, match="cluster must be one of slurm, local, debug"):
        ClusterOptions(cluster="pbs")
    with pytest.raises(ValueError, match="timeout_min must be at least 1"):
        ClusterOptions(timeout_min=0)
    with pytest.raises(ValueError, match="retries must be 0 or more"):
        ClusterOptions(retries=-1)


def _cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from disentangle_fas.training.cli import protocol_main\n"
        "rc = protocol_main(sys.argv[1:])\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "sys.exit(rc)"
    )
    return subprocess.run([sys.executable, "-c", code, *args], env=subprocess_env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shard", "3/2"], "--shard '3/2': expected K/N with 1 <= K <= N"),
        (["--units", "2-1"], "--units '2-1'"),
        (["--shard", "1/2", "--units", "1"], "--shard and --units exclude each other"),
        (["--cluster", "local"], "--cluster apply to --launcher submitit only"),
        (["--launcher", "submitit", "--shard", "1/2"], "--launcher submitit makes its own array"),
        (["--launcher", "submitit", "--workers", "2"], "--workers applies to --launcher local"),
        (["--launcher", "submitit", "--timeout-min", "0"], "--timeout-min 0: must be 1 or more"),
        (["--collect", "x", "--seeds", "2"], "--collect OUT takes no other options"),
        (["--interim"], "--interim goes with --collect OUT"),
    ],
)
def test_bad_cluster_options_fail_in_one_line_without_torch(args: list[str], message: str) -> None:
    res = _cli(args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_collect_of_a_folder_without_a_plan_is_a_usage_error(tmp_path: Path) -> None:
    res = _cli(["--collect", str(tmp_path)])
    assert res.returncode == 2 and "no plan.json" in res.stderr


def test_the_plan_records_the_command_without_the_unit_selection(tmp_path: Path) -> None:
    from disentangle_fas.training.cluster_cli import plan_command

    argv = ["--seeds", "2", "--shard", "2/4", "--out", str(tmp_path), "--overwrite"]
    assert plan_command(argv) == ["disentangle-fas", "protocol", "--seeds", "2", "--out",
                                  str(tmp_path)]  # fmt: skip
    assert plan_command(["--units=1-3", "--launcher", "submitit"]) == [
        "disentangle-fas", "protocol", "--launcher", "submitit"
    ]  # fmt: skip
    assert json.dumps(plan_command([])) == '["disentangle-fas", "protocol"]'
