"""Run every task of a protocol (and several model variants) over seeds and print the tables.

Seed ``s`` fixes everything a run draws: the benchmark's draw (which people, captures and
videos the synthetic domains hold; the source-validation hold-out on real data), the
model's initialisation and the batch order. Variants run with the same seed see the same
data, so their per-seed differences are paired. Independent runs go to worker processes
(one torch thread each); a run's result does not depend on how many there are.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.data.sampler import check_batch_size
from disentangle_fas.methods import resolve_variant
from disentangle_fas.training.config import TrainConfig, settings_for
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.protocol_jobs import (
    KEEP_CHOICES,
    AfterRun,
    Job,
    KeepCheckpoints,
    check_keep,
    check_picklable,
    default_workers,
    prune_run,
    run_jobs,
)
from disentangle_fas.training.protocol_report import (
    ProtocolResult,
    RunRecord,
    assemble_result,
    combined_markdown,
)
from disentangle_fas.training.protocol_summary import counted
from disentangle_fas.training.tasks import (
    build_task,
    protocol_tasks,
)

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
    "scale_line",
]


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
    check_keep(keep)
    names = list(tasks) if tasks is not None else protocol_tasks()
    seed_list = [cfg.seed + i for i in range(seeds)]
    root = Path(cfg.out)
    check_variants(cfg, variants, names)  # refuse an unknown name before any training
    jobs = _jobs(cfg, names, variants, seed_list, root, keep)
    if workers > 1:
        check_picklable(task_builder=task_builder, after_run=after_run)
    echo(scale_line(cfg, names, variants, seeds, workers))
    records = list(run_jobs(jobs, task_builder, after_run, workers, echo))
    out = assemble_result(
        records,
        variants=list(variants),
        seeds=seed_list,
        threshold=cfg.threshold.value,
        checkpoint_policy=cfg.checkpoint_policy.value,
        data=cfg.data,
        env={**environment(cfg, threads=1), "workers": workers},  # every run: one thread
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
) -> list[Job]:
    """Every run, seed-major (a seed's data serves all its runs), then task, then variant."""
    jobs: list[Job] = []
    several = len(seed_list) > 1
    for seed in seed_list:
        for name in names:
            for variant in variants:
                run_cfg = _run_config(cfg, variant, name, root)
                sub = Path(run_cfg.out) / f"seed{seed}" if several else Path(run_cfg.out)
                run_cfg = run_cfg.replace(seed=seed, out=str(sub))
                jobs.append(Job(len(jobs), variant, name, seed, run_cfg, not several, keep))
    return jobs


def environment(cfg: TrainConfig, threads: int | None = None) -> dict[str, Any]:
    """What a result depends on beyond its configuration: torch and numpy versions, the
    device, torch's intra-op thread count (``threads``, or this process's), the processor
    and Python version.
    """
    dev = resolve_device(cfg.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor()
    return {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"{dev.type} ({name or platform.machine()})",
        "threads": torch.get_num_threads() if threads is None else threads,
    }


def scale_line(
    cfg: TrainConfig, tasks: Sequence[str], variants: Sequence[str], seeds: int, workers: int
) -> str:
    """The line a protocol run starts with: how many runs, on what, at which scale.

    Example:
        >>> scale_line(TrainConfig(depth=10, image_size=32, steps=400, batch_size=18),
        ...            ["OCI->M"], ["full", "baseline"], 3, 2)[:60]
        'protocol: 1 task x 2 variants x 3 seeds = 6 runs on 2 worker'
    """
    n = len(tasks) * len(variants) * seeds
    backbone = cfg.backbone or f"resnet{cfg.depth}"
    data = "the built-in synthetic benchmark" if cfg.data == "synthetic" else cfg.data
    return (
        f"protocol: {counted(len(tasks), 'task')} x {counted(len(variants), 'variant')} x "
        f"{counted(seeds, 'seed')} = {counted(n, 'run')} on {counted(workers, 'worker')}; "
        f"{data}, {backbone}, {cfg.image_size} px, {cfg.steps} steps of batch "
        f"{cfg.batch_size}, evaluation every {cfg.eval_every}, averaging {cfg.averaging}; "
        f"variants {', '.join(variants)}; output {cfg.out}"
    )


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
        check_batch_size(cfg.batch_size, len(sources), name)


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
