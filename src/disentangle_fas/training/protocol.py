"""Run every task of a protocol (and several model variants) over seeds and print the tables.

Seed ``s`` fixes everything a run draws: the benchmark's draw (which people, captures and
videos the synthetic domains hold; the source-validation hold-out on real data), the
model's initialisation and the batch order. Variants run with the same seed see the same
data, so their per-seed differences are paired. Independent runs go to worker processes
(one torch thread each); a run's result does not depend on how many there are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.methods import resolve_variant
from disentangle_fas.metrics import video_level
from disentangle_fas.training.config import TrainConfig, settings_for
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.loop import TrainResult, train
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.protocol_report import (
    ProtocolResult,
    RunRecord,
    assemble_result,
    combined_markdown,
)
from disentangle_fas.training.protocol_stats import TargetScores
from disentangle_fas.training.scoring import score_dataset
from disentangle_fas.training.tasks import build_task, content_spec, protocol_tasks

__all__ = [
    "KEEP_CHOICES",
    "AfterRun",
    "KeepCheckpoints",
    "ProtocolResult",
    "RunRecord",
    "check_variants",
    "combined_markdown",
    "default_workers",
    "environment",
    "prune_run",
    "run_protocol",
]

#: What :func:`run_protocol` keeps of each finished run's weight files.
KeepCheckpoints = Literal["all", "chosen", "none"]
KEEP_CHOICES: tuple[str, ...] = get_args(KeepCheckpoints)

#: ``after_run(variant, task, seed, result)``: called in the process that ran the run,
#: while its data is in memory; what it returns is kept as :attr:`RunRecord.extra`.
AfterRun = Callable[[str, TaskData, int, TrainResult], Any]


def _check_keep(keep: str) -> None:
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
class _Job:
    """One run of a protocol: everything a worker needs to do it."""

    index: int
    variant: str
    task: str
    seed: int
    cfg: TrainConfig
    score_target: bool
    keep: KeepCheckpoints


def run_protocol(
    cfg: TrainConfig,
    *,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] = ("full",),
    seeds: int = 1,
    task_builder: Callable[[TrainConfig], TaskData] = build_task,
    echo: Callable[[str], None] = print,
    bootstrap_resamples: int = 1000,
    after_run: AfterRun | None = None,
    keep: KeepCheckpoints = "all",
    workers: int = 1,
) -> ProtocolResult:
    """Train and evaluate ``variants`` on every task, for ``seeds`` seeds.

    The seeds are ``cfg.seed .. cfg.seed + seeds - 1``; seed ``s`` builds every task's
    data with ``s`` (``task_builder(cfg.replace(seed=s))``: on the synthetic benchmark a
    new draw of people, captures and videos) and trains every variant on it from ``s``,
    so the variants' results are paired by seed. A single seed writes to
    ``<cfg.out>/<variant>/<task>``, several to ``<cfg.out>/<variant>/<task>/seed<S>``. The
    tables are written to ``<cfg.out>/`` ``results.md``, ``results.csv`` and
    ``results.json``.

    With one seed the intervals come from a stratified bootstrap over the target videos
    (``bootstrap_resamples`` resamples, generator seeded with ``cfg.seed``); with several,
    from a t-interval over the per-seed paired differences.

    Args:
        cfg: the base configuration (its ``task``, ``method``, method settings and
            ``seed`` are replaced per run).
        tasks: task names; all leave-one-out tasks of ``cfg.data`` when ``None``.
        variants: what to compare: registered methods (``"ssdg-r"``, a plugin's) and/or
            named presets of a method's settings (the paper's Table 3 rows ``"full"``,
            ``"baseline"``, ``"content"``, ``"domain"``).
        seeds: how many seeds (at least 1).
        task_builder: builds the data of one task from a run's configuration (its
            ``seed`` is the run's).
        echo: where progress lines go.
        bootstrap_resamples: resamples of the single-seed bootstrap.
        after_run: called as ``after_run(variant, task, seed, result)`` after every run,
            in the process that ran it, while the task's data is in memory (e.g. to probe
            the trained model); its return value is the run's :attr:`RunRecord.extra`.
        keep: which weight files of a finished run stay on disk: ``"all"`` (the
            resumable state, last, best source-validation and oracle checkpoints),
            ``"chosen"`` (only the checkpoint the policy chose) or ``"none"``;
            ``config.json``, ``log.jsonl`` and ``result.json`` always stay. With
            ``cfg.resume`` a finished run whose chosen checkpoint is kept (``"all"``,
            ``"chosen"``) is evaluated again from it, not trained again; one pruned by
            ``"none"`` is trained again.
        workers: runs done at once, each in its own process with one torch thread
            (``1``: one after the other in this process, also with one torch thread). With
            more than one, ``task_builder`` and ``after_run`` must be picklable
            (module-level functions or instances of module-level classes).

    Returns:
        The :class:`ProtocolResult`.

    Raises:
        ValueError: ``seeds < 1``, ``workers < 1``, an unknown variant, an unknown
            ``keep``, or a builder or callback that cannot go to a worker process.
        SettingsError: a bad method setting (checked before any training).
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    _check_keep(keep)
    names = list(tasks) if tasks is not None else protocol_tasks()
    seed_list = [cfg.seed + i for i in range(seeds)]
    root = Path(cfg.out)
    check_variants(cfg, variants, names)  # refuse an unknown name before any training
    jobs = _jobs(cfg, names, variants, seed_list, root, keep)
    if workers > 1:
        _check_picklable(task_builder=task_builder, after_run=after_run)
    records = list(_run_jobs(jobs, task_builder, after_run, workers, echo))
    out = assemble_result(
        records,
        variants=list(variants),
        seeds=seed_list,
        threshold=cfg.threshold.value,
        checkpoint_policy=cfg.checkpoint_policy.value,
        data=cfg.data,
        env={**environment(cfg), "threads": 1, "workers": workers},  # one thread per run
        bootstrap_resamples=bootstrap_resamples,
        bootstrap_seed=cfg.seed,
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "results.md").write_text(out.to_markdown())
    (root / "results.csv").write_text(out.to_csv())
    (root / "results.json").write_text(json.dumps(out.to_dict(), indent=2))
    return out


def _jobs(
    cfg: TrainConfig,
    names: Sequence[str],
    variants: Sequence[str],
    seed_list: Sequence[int],
    root: Path,
    keep: KeepCheckpoints,
) -> list[_Job]:
    """Every run, seed-major (a seed's data serves all its runs), then task, then variant."""
    jobs: list[_Job] = []
    several = len(seed_list) > 1
    for seed in seed_list:
        for name in names:
            for variant in variants:
                run_cfg = _run_config(cfg, variant, name, root)
                sub = Path(run_cfg.out) / f"seed{seed}" if several else Path(run_cfg.out)
                run_cfg = run_cfg.replace(seed=seed, out=str(sub))
                jobs.append(_Job(len(jobs), variant, name, seed, run_cfg, not several, keep))
    return jobs


def _check_picklable(**objects: object) -> None:
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


def _run_jobs(
    jobs: Sequence[_Job],
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
            with _one_thread():
                for k, job in enumerate(jobs, 1):
                    rec = _do_job(job, task_builder, after_run, progress=job.cfg.progress)
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


def _worker_init() -> None:
    torch.set_num_threads(1)


@contextmanager
def _one_thread() -> Iterator[None]:
    """One torch thread inside the block (a run's result does not depend on the number
    of workers), the caller's count restored after.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _do_job(
    job: _Job,
    task_builder: Callable[[TrainConfig], TaskData],
    after_run: AfterRun | None,
    progress: bool,
) -> RunRecord:
    """Build the job's data (cached per process and on disk), train, score, prune."""
    cfg = job.cfg.replace(progress=progress)
    task = _task_for(cfg, task_builder)
    res = train(cfg, task)
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
        metrics=res.metrics,
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


def environment(cfg: TrainConfig) -> dict[str, Any]:
    """What a result depends on beyond its configuration: torch and numpy versions, the
    device, torch's intra-op thread count, the processor and Python version.
    """
    dev = resolve_device(cfg.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"{dev.type} ({name or platform.machine()})",
        "threads": torch.get_num_threads(),
    }


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
    _check_keep(keep)
    if keep == "all":
        return []
    removed = []
    for path in sorted(Path(chosen).parent.glob("*.safetensors")):
        if keep == "none" or path.name != Path(chosen).name:
            path.unlink()
            removed.append(path)
    return removed


def check_variants(
    cfg: TrainConfig, variants: Sequence[str], tasks: Sequence[str] | None = None
) -> None:
    """Check every variant's method and settings as :func:`run_protocol` will use them,
    before any work.

    Raises:
        ValueError: an unknown variant or method, or a batch size that cannot be balanced
            over a task's source domains and the two classes.
        SettingsError: a bad method setting.
    """
    names = list(tasks) if tasks else protocol_tasks()
    for variant in variants:
        _run_config(cfg, variant, names[0] if names else cfg.task, Path(cfg.out))
    for name in names:
        try:
            sources = leave_one_out(name).sources
        except ValueError:
            continue  # a task of the caller's own builder: its sampler checks the batch
        groups = 2 * len(sources)
        if cfg.batch_size % groups:
            raise ValueError(
                f"batch_size {cfg.batch_size} does not fit task {name}: every batch holds "
                f"equal live and spoof counts from each of its {len(sources)} source domains, "
                f"so it must be a multiple of {groups} (e.g. {groups * max(1, round(cfg.batch_size / groups))})"
            )


def _run_config(cfg: TrainConfig, variant: str, task: str, root: Path) -> TrainConfig:
    """The configuration of one run of ``variant`` on ``task``.

    ``variant`` is a registered method, or a named preset of a method's settings (the
    paper's Table 3 rows: :func:`~disentangle_fas.methods.resolve_variant`). The run gets
    the settings ``cfg`` gives that method (``--set`` for ``cfg.method``, ``--set
    method.key`` for any) with the preset's on top, and they are checked here.

    Raises:
        ValueError: an unknown variant.
        SettingsError: a bad setting.
    """
    method, preset = resolve_variant(variant)
    settings = {**settings_for(cfg, method), **preset}
    run = cfg.replace(
        task=task, method=method, method_settings=settings, out=str(root / variant / _slug(task))
    )
    return check_method_settings(run)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "task"
