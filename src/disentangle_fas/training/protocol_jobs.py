r"""How a protocol's runs are done: one job (a run unit,
:mod:`~disentangle_fas.training.protocol_unit`) per (variant, task, seed), in this process
or in spawned worker processes with one torch thread each.

Every finished job writes its record (``record.json``,
:mod:`~disentangle_fas.training.run_record`) into its run folder; a job whose valid record
is there already is not run again, and a job whose folder holds an interrupted run
continues it (``resume``). A failed job writes ``failure.json`` with its error and the
others go on.

:func:`~disentangle_fas.training.protocol.run_protocol` plans the jobs and assembles their
:class:`~disentangle_fas.training.protocol_report.RunRecord`\ s; this module runs them.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context

import torch

from disentangle_fas.errors import RunLockedError
from disentangle_fas.synthetic.cache import default_cache_dir
from disentangle_fas.threads import one_torch_thread
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.protocol_report import RunRecord
from disentangle_fas.training.protocol_unit import (
    KEEP_CHOICES,
    AfterRun,
    Job,
    KeepCheckpoints,
    check_keep,
    do_job,
    environment,
    forget_built,
    prune_run,
)
from disentangle_fas.training.run_record import FAILURE_NAME, RECORD_NAME
from disentangle_fas.training.rundir import LOCK_NAME
from disentangle_fas.training.tasks import build_task, render_split, synthetic_splits_of

__all__ = [
    "KEEP_CHOICES",
    "AfterRun",
    "Job",
    "JobsOutcome",
    "KeepCheckpoints",
    "Runner",
    "check_keep",
    "check_picklable",
    "default_workers",
    "environment",
    "prune_run",
    "run_jobs",
]

#: Does the selected jobs: ``runner(jobs, task_builder, after_run, echo)``.
Runner = Callable[
    [Sequence["Job"], Callable[[TrainConfig], TaskData], "AfterRun | None", Callable[[str], None]],
    "JobsOutcome",
]


def default_workers(device: str = "auto") -> int:
    """Worker processes of a protocol by default: one per available core on CPU, one on
    a GPU (its runs share the device).
    """
    if resolve_device(device).type != "cpu":
        return 1
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass
class JobsOutcome:
    """What running a list of jobs gave.

    Attributes:
        records: unit number -> record, of every job that finished (now or earlier).
        reused: the numbers of the jobs that had finished earlier (not run again).
        failures: unit number -> the error of every job that failed.
        busy: the numbers of the jobs skipped because another process holds their run
            folder (it is doing them).
    """

    records: dict[int, RunRecord] = field(default_factory=dict)
    reused: set[int] = field(default_factory=set)
    failures: dict[int, BaseException] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)


def check_picklable(**objects: object) -> None:
    """Refuse, before any work, what cannot be sent to a worker process.

    Raises:
        ValueError: naming the object that does not pickle and what to pass instead.
    """
    for what, obj in objects.items():
        if obj is None:
            continue
        try:
            pickle.dumps(obj)
        except Exception as exc:  # pickling raises many kinds
            raise ValueError(
                f"{what} cannot go to a worker process ({exc}); pass a module-level "
                "function or an instance of a module-level class, or use workers=1"
            ) from None


def run_jobs(
    jobs: Sequence[Job],
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    workers: int,
    echo: Callable[[str], None],
) -> JobsOutcome:
    """Do the jobs, in this process or in ``workers`` processes, echoing one line per
    finished run.

    A job with a valid record in its folder is not run again (its record is read back);
    with ``overwrite`` in its configuration its folder is emptied and it runs again. A
    failing job leaves ``failure.json`` and the others still run; Ctrl-C stops at once.
    """
    out = JobsOutcome()
    todo: list[Job] = []
    for job in jobs:
        rec = None if job.cfg.overwrite else job.finished()
        if rec is None:
            todo.append(job)
        else:
            out.records[job.number] = rec
            out.reused.add(job.number)
    if out.reused:
        echo(f"{len(out.reused)} of {len(jobs)} runs finished earlier (their records are read)")
    todo = [_prepared(job) for job in todo]
    total, t0 = len(todo), time.perf_counter()

    def finished(k: int, rec: RunRecord) -> None:
        m = rec.result
        honest = m.honest.hter if m.honest is not None else float("nan")
        echo(
            f"[{k}/{total}] {rec.variant} {rec.task} seed {rec.seed}: AUC {100 * m.auc:.2f}% "
            f"HTER {100 * honest:.2f}% ({rec.seconds:.0f} s; {time.perf_counter() - t0:.0f} s "
            "elapsed)"
        )

    def failed(job: Job, exc: BaseException) -> None:
        if isinstance(exc, RunLockedError):  # another process is doing it: not a failure
            out.busy.add(job.number)
            echo(f"run {job.number} {job.key} skipped: {exc}")
            return
        out.failures[job.number] = exc
        echo(f"run {job.number} {job.key} failed: {type(exc).__name__}: {exc}")

    if workers == 1 or total <= 1:
        try:
            with one_torch_thread():
                for k, job in enumerate(todo, 1):
                    label = f"run {k}/{total}: {job.variant} {job.task} seed {job.seed}"
                    try:
                        rec = do_job(job, task_builder, after_run, job.cfg.progress, label)
                    except Exception as exc:
                        failed(job, exc)
                        continue
                    out.records[job.number] = rec
                    finished(k, rec)
        finally:
            forget_built()  # the next call may build its tasks differently
        return out
    ctx = get_context("spawn")  # a fresh interpreter: no inherited OpenMP or CUDA state
    with ProcessPoolExecutor(
        max_workers=min(workers, total),
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(os.getpid(),),
    ) as pool:
        if task_builder is build_task:
            _prerender(pool, todo, echo)
        index: dict[Future[RunRecord], Job] = {
            pool.submit(do_job, job, task_builder, after_run, False): job for job in todo
        }
        pending = set(index)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    job = index[fut]
                    try:
                        rec = out.records[job.number] = fut.result()
                    except Exception as exc:
                        failed(job, exc)
                        continue
                    finished(len(out.records) - len(out.reused), rec)
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return out


def _prepared(job: Job) -> Job:
    """``job`` ready to run: with ``overwrite``, its folder's record and failure removed;
    otherwise set to continue an interrupted run its folder holds (``resume``); a failure
    left by an earlier try is removed either way.
    """
    folder = job.out
    (folder / FAILURE_NAME).unlink(missing_ok=True)
    if job.cfg.overwrite:
        (folder / RECORD_NAME).unlink(missing_ok=True)
        return job
    started = folder.is_dir() and any(p.name != LOCK_NAME for p in folder.iterdir())
    if started and not job.cfg.resume:
        return dataclasses.replace(job, cfg=job.cfg.replace(resume=True))
    return job


def _prerender(pool: ProcessPoolExecutor, jobs: Sequence[Job], echo: Callable[[str], None]) -> None:
    """Render every synthetic split the jobs need into the disk cache, each once, in the
    pool (without this, workers starting runs on the same data would render it twice).
    Nothing happens on real data or with the cache turned off.
    """
    if default_cache_dir() is None:
        return
    specs = list(dict.fromkeys(s for job in jobs for s in synthetic_splits_of(job.cfg)))
    if not specs:
        return
    t0 = time.perf_counter()
    list(pool.map(render_split, specs))
    echo(f"rendered or read {len(specs)} synthetic splits ({time.perf_counter() - t0:.0f} s)")


def _worker_init(parent: int) -> None:
    """One torch thread; and on Linux the worker is killed when its parent dies (a killed
    protocol leaves no orphan still training and holding its run folder's lock).
    """
    torch.set_num_threads(1)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the call above
            os._exit(1)


#: prctl(2) option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
