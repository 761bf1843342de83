r"""How a protocol's runs are done: one job per (variant, task, seed), in this process or
in spawned worker processes with one torch thread each, each job building its data
(cached per process and on disk), training, scoring and pruning its weight files.

:func:`~disentangle_fas.training.protocol.run_protocol` plans the jobs and assembles their
:class:`~disentangle_fas.training.protocol_report.RunRecord`\ s; this module runs them.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from disentangle_fas.metrics import video_level
from disentangle_fas.synthetic.cache import default_cache_dir
from disentangle_fas.threads import one_torch_thread
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.loop import TrainResult, train
from disentangle_fas.training.options import KEEP_CHOICES, KeepCheckpoints
from disentangle_fas.training.protocol_report import RunRecord
from disentangle_fas.training.protocol_stats import TargetScores
from disentangle_fas.training.scoring import score_dataset
from disentangle_fas.training.tasks import (
    build_task,
    content_spec,
    render_split,
    synthetic_splits_of,
)

__all__ = [
    "KEEP_CHOICES",
    "AfterRun",
    "Job",
    "KeepCheckpoints",
    "check_keep",
    "check_picklable",
    "default_workers",
    "prune_run",
    "run_jobs",
]

#: ``after_run(variant, task, seed, result)``: called in the process that ran the run,
#: while its data is in memory; what it returns is kept as :attr:`RunRecord.extra`.
AfterRun = Callable[[str, TaskData, int, TrainResult], Any]


def check_keep(keep: str) -> None:
    """Refuse an unknown ``keep``.

    Raises:
        ValueError: ``keep`` is not one of :data:`KEEP_CHOICES`.
    """
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {keep!r}")


def default_workers(device: str = "auto") -> int:
    """Worker processes of a protocol by default: one per available core on CPU, one on
    a GPU (its runs share the device).
    """
    if resolve_device(device).type != "cpu":
        return 1
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Job:
    """One run of a protocol: everything a worker needs to do it.

    Attributes:
        index: its position in the protocol's run order.
        variant: the variant or method name.
        task: the task's name as given.
        seed: the run's seed.
        cfg: the run's full configuration.
        score_target: keep the chosen checkpoint's video-level target scores (one seed).
        keep: which weight files stay after the run.
    """

    index: int
    variant: str
    task: str
    seed: int
    cfg: TrainConfig
    score_target: bool
    keep: KeepCheckpoints


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
) -> Iterator[RunRecord]:
    """Do the jobs, in this process or in ``workers`` processes; yield their records in
    job order, echoing one line per finished run.
    """
    total, t0 = len(jobs), time.perf_counter()

    def line(k: int, rec: RunRecord) -> str:
        m = rec.result
        honest = m.honest.hter if m.honest is not None else float("nan")
        return (
            f"[{k}/{total}] {rec.variant} {rec.task} seed {rec.seed}: AUC {100 * m.auc:.2f}% "
            f"HTER {100 * honest:.2f}% ({rec.seconds:.0f} s; {time.perf_counter() - t0:.0f} s "
            "elapsed)"
        )

    if workers == 1:
        try:
            with one_torch_thread():
                for k, job in enumerate(jobs, 1):
                    rec = _do_job(
                        job,
                        task_builder,
                        after_run,
                        progress=job.cfg.progress,
                        label=f"run {k}/{total}: {job.variant} {job.task} seed {job.seed}",
                    )
                    echo(line(k, rec))
                    yield rec
        finally:
            _BUILT.clear()  # the next call may build its tasks differently
        return
    done: dict[int, RunRecord] = {}
    ctx = get_context("spawn")  # a fresh interpreter: no inherited OpenMP or CUDA state
    with ProcessPoolExecutor(
        max_workers=min(workers, total), mp_context=ctx, initializer=_worker_init
    ) as pool:
        if task_builder is build_task:
            _prerender(pool, jobs, echo)
        index: dict[Future[RunRecord], int] = {
            pool.submit(_do_job, job, task_builder, after_run, False): job.index for job in jobs
        }
        pending = set(index)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rec = done[index[fut]] = fut.result()
                    echo(line(len(done), rec))
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    for i in range(total):
        yield done[i]


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


def _worker_init() -> None:
    torch.set_num_threads(1)


def _do_job(
    job: Job,
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    progress: bool,
    label: str | None = None,
) -> RunRecord:
    """Build the job's data (cached per process and on disk), train, score, prune."""
    cfg = job.cfg.replace(progress=progress)
    task = _task_for(cfg, task_builder)
    res = train(cfg, task, label=label)
    scores = _target_scores(res, task, cfg) if job.score_target else None
    extra = after_run(job.variant, task, job.seed, res) if after_run is not None else None
    prune_run(res.checkpoint, job.keep)
    return RunRecord(
        variant=job.variant,
        task=task.name,
        seed=job.seed,
        result=res.result,
        history=res.history,
        checkpoint=res.checkpoint,
        seconds=res.seconds,
        target_scores=scores,
        extra=extra,
        source_val_split=task.source_val_split,
    )


#: The process's last built task: (name, seed, needs content) -> data. Jobs come
#: seed-major, so consecutive runs of one worker reuse it.
_BUILT: dict[tuple[str, int], TaskData] = {}


def _task_for(cfg: TrainConfig, task_builder: Callable[[TrainConfig], TaskData]) -> TaskData:
    """The data of ``cfg``'s task and seed, built once per process for every variant.

    Variants differ only in their model and objective, so one build serves them all: a
    variant without a content target gets the built task with ``content=None``, and the
    task is built again only when a variant needs the content target that the first build
    left out.
    """
    needs_content = content_spec(cfg) is not None
    key = (cfg.task, cfg.seed)
    task = _BUILT.get(key)
    if task is None or (needs_content and task.content is None):
        _BUILT.clear()
        task = _BUILT[key] = task_builder(cfg)
    return task if needs_content else dataclasses.replace(task, content=None)


def _target_scores(res: TrainResult, task: TaskData, cfg: TrainConfig) -> TargetScores:
    """Video-level target scores of the run's chosen checkpoint."""
    dev = resolve_device(cfg.device)
    model = res.chosen_model(dev)
    scored = score_dataset(model, task.target_test, device=dev)
    v = video_level(scored.scores, scored.labels, scored.video_ids)
    return TargetScores(v.scores, v.labels, float(res.metrics.threshold))


def prune_run(chosen: Path, keep: KeepCheckpoints) -> list[Path]:
    """Delete the weight files of a finished run that ``keep`` does not keep.

    Args:
        chosen: the run's chosen checkpoint (its folder is the run's folder).
        keep: ``"all"``, ``"chosen"`` or ``"none"`` (see :func:`run_protocol`).

    Returns:
        The files removed.

    Raises:
        ValueError: an unknown ``keep``.
    """
    check_keep(keep)
    if keep == "all":
        return []
    removed = []
    for path in sorted(Path(chosen).parent.glob("*.safetensors")):
        if keep == "none" or path.name != Path(chosen).name:
            path.unlink()
            removed.append(path)
    return removed
