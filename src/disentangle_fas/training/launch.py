"""A protocol's units submitted with submitit (``protocol --launcher submitit``).

submitit (optional extra ``cluster``) submits Python callables to SLURM as a job array,
or runs them as local subprocesses (``local``) or in this process (``debug``) with the
same interface. Each SLURM array task does one unit with its own GPU, CPUs, memory and time
limit; ``local`` groups the units into at most ``array_parallelism`` jobs so a workstation
is not oversubscribed. A preempted or timed-out array task is requeued by submitit
(:meth:`UnitBatch.checkpoint`) and continues its run from the last saved state; a unit
that failed is submitted again up to ``retries`` times; whatever is still missing is
named by ``protocol --collect``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disentangle_fas.training.collect import collect
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.protocol_jobs import (
    AfterRun,
    Job,
    JobsOutcome,
    default_workers,
    run_jobs,
)
from disentangle_fas.training.run_record import read_failure, write_failure
from disentangle_fas.training.units import format_units

__all__ = [
    "CLUSTERS",
    "INSTALL_HINT",
    "ClusterOptions",
    "UnitBatch",
    "batches",
    "make_executor",
    "require_submitit",
    "submitit_runner",
]

#: submitit's executors: SLURM, local subprocesses, this process.
CLUSTERS: tuple[str, ...] = ("slurm", "local", "debug")

#: What to install when submitit is missing.
INSTALL_HINT = "pip install 'disentangle-fas[cluster]' (or: pip install 'submitit>=1.5')"


def require_submitit() -> Any:
    """Import submitit.

    Raises:
        ImportError: one line naming the extra to install.
    """
    try:
        import submitit
    except ImportError:
        raise ImportError(f"--launcher submitit needs submitit: {INSTALL_HINT}") from None
    return submitit


@dataclass(frozen=True)
class ClusterOptions:
    """How units are submitted.

    Attributes:
        cluster: ``"slurm"``, ``"local"``, ``"debug"``, or ``None`` (SLURM when ``sbatch``
            is found, else local).
        folder: where submitit keeps its pickles and each job's logs.
        gpus_per_run: GPUs of each unit's job.
        cpus_per_run: CPU cores of each unit's job.
        mem_gb: memory of each unit's job (``None``: the partition's default).
        timeout_min: time limit of each unit's job, in minutes.
        partition: the SLURM partition (``None``: the cluster's default).
        account: the SLURM account, if the cluster needs one.
        array_parallelism: at most this many units' jobs at once (SLURM's ``%P`` array
            throttle; on ``local``, the number of jobs the units are grouped into);
            ``None``: 256 on SLURM, on ``local`` one job per GPU set (``gpus_per_run``
            each) or, without GPUs, per available core.
        retries: times a failed unit is submitted again.
        wait: wait for the jobs (and collect); ``False``: return after submitting.
        poll_seconds: how often the jobs' states are read while waiting.
    """

    cluster: str | None = None
    folder: str = "submitit"
    gpus_per_run: int = 1
    cpus_per_run: int = 4
    mem_gb: float | None = None
    timeout_min: int = 240
    partition: str | None = None
    account: str | None = None
    array_parallelism: int | None = None
    retries: int = 1
    wait: bool = True
    poll_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.cluster is not None and self.cluster not in CLUSTERS:
            raise ValueError(f"cluster must be one of {', '.join(CLUSTERS)}, got {self.cluster!r}")
        for name in ("cpus_per_run", "timeout_min", "array_parallelism"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("gpus_per_run", "retries"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")


class UnitBatch:
    """Some units done one after the other in one submitted job (picklable: submitit
    sends it to the job).

    Args:
        jobs: the units.
        task_builder: builds a task's data.
        after_run: the protocol's per-run callback, or ``None``.
        root: the protocol's output folder: when given, the job that finishes the last
            unit writes the tables there (also when nobody waits for the jobs).
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        task_builder: Callable[[TrainConfig], TaskData],
        after_run: AfterRun | None,
        root: str | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.task_builder = task_builder
        self.after_run = after_run
        self.root = root

    def __call__(self) -> dict[int, str | None]:
        """Do the units (finished ones are skipped, interrupted ones continue).

        Returns:
            Unit number -> ``None`` (finished) or its error's line.
        """
        out = run_jobs(self.jobs, self.task_builder, self.after_run, 1, print)
        if self.root is not None:
            try:
                collect(self.root)  # writes the tables when every unit has finished
            except (OSError, ValueError) as err:  # the units' records are what matter
                print(f"collect {self.root}: {err}")
        status: dict[int, str | None] = {n: None for n in out.records}
        for n, exc in out.failures.items():
            status[n] = f"{type(exc).__name__}: {exc}"
        return status

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Requeue this batch when SLURM preempts it or its time runs out (submitit calls
        this); its unfinished run continues from its last saved state.
        """
        submitit = require_submitit()
        return submitit.helpers.DelayedSubmission(
            UnitBatch(self.jobs, self.task_builder, self.after_run, self.root)
        )


def batches(jobs: Sequence[Job], groups: int) -> list[list[Job]]:
    """Deal ``jobs`` round-robin into at most ``groups`` non-empty groups (plan order kept
    within each): 5 jobs in 2 groups are ``[[0, 2, 4], [1, 3]]``.
    """
    n = max(1, min(groups, len(jobs)))
    return [list(jobs[i::n]) for i in range(n) if jobs[i::n]]


def _local_gpu_slots(gpus_per_run: int) -> list[list[int]] | None:
    """This machine's GPUs dealt into disjoint sets of ``gpus_per_run`` (``None`` when no
    GPU is asked for or none is visible).
    """
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus_per_run == 0 or count < gpus_per_run:
        return None
    return [
        list(range(i, i + gpus_per_run)) for i in range(0, count - gpus_per_run + 1, gpus_per_run)
    ]


def make_executor(options: ClusterOptions, n_jobs: int) -> Any:
    """Submitit's ``AutoExecutor`` for ``n_jobs`` unit jobs, with each job's name, time
    limit, CPUs, GPUs, memory, SLURM partition, account and array throttle set.

    Raises:
        ImportError: submitit is missing (one line naming the extra).
        RuntimeError: ``cluster="slurm"`` where SLURM's ``srun`` is not found.
    """
    submitit = require_submitit()
    executor = submitit.AutoExecutor(folder=options.folder, cluster=options.cluster)
    params: dict[str, Any] = {
        "name": "disentangle-fas",
        "timeout_min": options.timeout_min,
        "cpus_per_task": options.cpus_per_run,
        "gpus_per_node": options.gpus_per_run,
        "tasks_per_node": 1,
        "nodes": 1,
        "slurm_array_parallelism": min(options.array_parallelism or 256, max(1, n_jobs)),
    }
    if options.mem_gb is not None:
        params["mem_gb"] = options.mem_gb
    if options.partition:
        params["slurm_partition"] = options.partition
    if options.account:
        params["slurm_account"] = options.account
    executor.update_parameters(**params)  # other executors ignore the slurm_ keys
    return executor


def submitit_runner(
    options: ClusterOptions, echo: Callable[[str], None] = print, root: str | None = None
) -> Callable[..., JobsOutcome]:
    """A runner for :func:`~disentangle_fas.training.protocol.run_units` that submits the
    units with submitit and (with ``options.wait``) waits for them.

    Args:
        options: how the units are submitted.
        echo: where progress lines go.
        root: the protocol's output folder; the job that finishes its last unit writes
            the tables there (so ``--no-wait`` still ends with them written).

    Returns:
        ``runner(jobs, task_builder, after_run, echo) -> JobsOutcome``.
    """

    def runner(
        jobs: Sequence[Job],
        task_builder: Callable[[TrainConfig], TaskData],
        after_run: AfterRun | None,
        echo_: Callable[[str], None] = echo,
    ) -> JobsOutcome:
        outcome = JobsOutcome()
        todo = [j for j in jobs if _keep_record(j, outcome)]
        if outcome.reused:
            echo_(f"{len(outcome.reused)} of {len(jobs)} runs finished earlier (not submitted)")
        for attempt in range(options.retries + 1):
            if not todo:
                break
            if attempt:
                echo_(f"submitting again (try {attempt + 1}): units {_numbers(todo)}")
            submitted = _submit(todo, task_builder, after_run, options, echo_, root)
            if not options.wait:
                echo_(f"submitted units {_numbers(todo)}; not waiting (--no-wait)")
                return outcome
            _wait(submitted, options, echo_)
            todo = [j for j in todo if _keep_record(j, outcome, earlier=False)]
        for job in todo:
            failure = read_failure(job.out)
            line = str(failure.get("error")) if failure else "no record (the job ended without one)"
            outcome.failures[job.number] = RuntimeError(line)
        return outcome

    return runner


def _numbers(jobs: Sequence[Job]) -> str:
    return format_units([j.number for j in jobs])


def _keep_record(job: Job, outcome: JobsOutcome, *, earlier: bool = True) -> bool:
    """Add ``job``'s record to ``outcome`` when it has one (``earlier``: one that was there
    before anything was submitted, so not with ``overwrite``); ``True`` when it has none.
    """
    rec = None if earlier and job.cfg.overwrite else job.finished()
    if rec is None:
        return True
    outcome.records[job.number] = rec
    if earlier:
        outcome.reused.add(job.number)
    return False


def _submit(
    jobs: Sequence[Job],
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    options: ClusterOptions,
    echo: Callable[[str], None],
    root: str | None = None,
) -> list[tuple[Any, list[Job]]]:
    """Submit ``jobs`` (one per array task; grouped on ``local``) as one array."""
    executor = make_executor(options, len(jobs))
    cluster = executor.cluster
    if cluster != "local":
        groups = [[j] for j in jobs]
        with executor.batch():
            handles = [executor.submit(UnitBatch(g, task_builder, after_run, root)) for g in groups]
    else:  # a few jobs, each with GPUs of its own (submitit's default gives every job GPU 0)
        local = require_submitit().LocalExecutor(folder=options.folder)
        slots = _local_gpu_slots(options.gpus_per_run)
        n = options.array_parallelism or (default_workers("cpu") if slots is None else len(slots))
        groups = batches(jobs, n if slots is None else min(n, len(slots)))
        handles = []
        for i, group in enumerate(groups):
            local.update_parameters(
                timeout_min=options.timeout_min,
                gpus_per_node=0 if slots is None else options.gpus_per_run,
                visible_gpus=() if slots is None else slots[i],
            )
            handles.append(local.submit(UnitBatch(group, task_builder, after_run, root)))
    first = handles[0].job_id if handles else "-"
    echo(
        f"submitted {len(jobs)} units as {len(handles)} {cluster} jobs (first {first}; logs in "
        f"{options.folder})"
    )
    return list(zip(handles, groups, strict=True))


def _wait(
    submitted: Sequence[tuple[Any, list[Job]]], options: ClusterOptions, echo: Callable[[str], None]
) -> None:
    """Wait for every job, echoing each as it ends; a job that died without writing its
    units' records (killed, out of memory, node failure) gets a failure for each.
    """
    submitit = require_submitit()
    owner = {id(h): g for h, g in submitted}
    t0 = time.perf_counter()
    finished = submitit.helpers.as_completed(
        [h for h, _ in submitted], poll_frequency=options.poll_seconds
    )
    for done, handle in enumerate(finished, 1):
        group = owner[id(handle)]
        exc = handle.exception()
        what = "done" if exc is None else f"ended with {type(exc).__name__}"
        echo(
            f"job {handle.job_id} {what} ({done}/{len(submitted)}; "
            f"{time.perf_counter() - t0:.0f} s): units {_numbers(group)}"
        )
        if exc is not None:
            line = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            for job in group:
                if job.finished() is None and read_failure(job.out) is None:
                    Path(job.out).mkdir(parents=True, exist_ok=True)
                    write_failure(
                        job.out, key=job.key, error=RuntimeError(f"job {handle.job_id}: {line}")
                    )
