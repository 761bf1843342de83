"""Run every task of a protocol (and several model variants) over seeds and print the tables.

Seed ``s`` fixes everything a run draws: the benchmark's draw (which people, captures and
videos the synthetic domains hold; the source-validation hold-out on real data), the
model's initialisation and the batch order. Variants run with the same seed see the same
data, so their per-seed differences are paired. Independent runs go to worker processes
(one torch thread each); a run's result does not depend on how many there are.

Every run is a unit with its own run folder and record (:mod:`.units`, :mod:`.run_record`);
the tables are assembled from the records alone (:mod:`.collect`), so the units can be
done by any mix of processes, shards of a job array or a scheduler
(:mod:`.launch`), and a protocol started again does only the units left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from disentangle_fas.training.collect import Collected, collect
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.protocol_jobs import (
    KEEP_CHOICES,
    AfterRun,
    KeepCheckpoints,
    Runner,
    check_keep,
    check_picklable,
    default_workers,
    environment,
    prune_run,
    run_jobs,
)
from disentangle_fas.training.protocol_plan import (  # noqa: F401 - _run_config: older imports
    _run_config,
    check_variants,
    count_units,
    make_plan,
    plan_jobs,
    scale_line,
    select_jobs,
)
from disentangle_fas.training.protocol_report import (
    ProtocolResult,
    RunRecord,
    combined_markdown,
)
from disentangle_fas.training.tasks import build_task, protocol_tasks
from disentangle_fas.training.units import format_units, write_plan

__all__ = [
    "KEEP_CHOICES",
    "AfterRun",
    "KeepCheckpoints",
    "ProtocolResult",
    "RunRecord",
    "UnitsOutcome",
    "check_variants",
    "combined_markdown",
    "count_units",
    "default_workers",
    "environment",
    "make_plan",
    "prune_run",
    "run_protocol",
    "run_units",
    "scale_line",
    "select_jobs",
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
    kind: str = "protocol",
    description: str = "",
) -> ProtocolResult:
    """Train and evaluate ``variants`` on every task, for ``seeds`` seeds.

    The seeds are ``cfg.seed .. cfg.seed + seeds - 1``; seed ``s`` builds every task's
    data with ``s`` (``task_builder(cfg.replace(seed=s))``: on the synthetic benchmark a
    new draw of people, captures and videos) and trains every variant on it from ``s``,
    so the variants' results are paired by seed. A single seed writes to
    ``<cfg.out>/<variant>/<task>``, several to ``<cfg.out>/<variant>/<task>/seed<S>``. The
    tables are written to ``<cfg.out>/`` ``results.md``, ``results.csv`` and
    ``results.json``.

    Each run is a unit (:func:`run_units`): it writes its record into its run folder, and
    the tables are assembled from those records alone (as ``protocol --collect`` does), so
    they do not depend on how or where the runs were done. A run whose valid record is
    already there is not run again; one interrupted earlier continues from its saved state.

    With one seed the intervals come from a stratified bootstrap over the target videos
    (``bootstrap_resamples`` resamples, generator seeded with ``cfg.seed``); with several,
    from a t-interval over the per-seed paired differences.

    Args:
        cfg: the base configuration (its ``task``, ``method``, method settings and
            ``seed`` are replaced per run). With ``overwrite`` every run is done again.
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
            the trained model); its return value is the run's :attr:`RunRecord.extra`
            (stored in the run's record when JSON-serialisable, so a run not done by this
            call gives the stored value).
        keep: which weight files of a finished run stay on disk: ``"all"`` (the
            resumable state, last, best source-validation and oracle checkpoints),
            ``"chosen"`` (only the checkpoint the policy chose) or ``"none"``;
            ``config.json``, ``log.jsonl``, ``result.json`` and ``record.json`` always
            stay.
        workers: runs done at once, each in its own process with one torch thread
            (``1``: one after the other in this process, also with one torch thread). With
            more than one, ``task_builder`` and ``after_run`` must be picklable
            (module-level functions or instances of module-level classes).
        kind: what the plan file calls it (``"study"`` for :func:`~disentangle_fas.study.run_study`).
        description: the plan's description line.

    Returns:
        The :class:`ProtocolResult`.

    Raises:
        ValueError: ``seeds < 1``, ``workers < 1``, an unknown variant, an unknown
            ``keep``, a builder or callback that cannot go to a worker process, or an
            output folder holding another protocol's plan.
        SettingsError: a bad method setting (checked before any training).
        Exception: the first failed run's error, after every other run was done.
    """
    collected, outcome = run_units(
        cfg,
        tasks=tasks,
        variants=variants,
        seeds=seeds,
        task_builder=task_builder,
        echo=echo,
        bootstrap_resamples=bootstrap_resamples,
        after_run=after_run,
        keep=keep,
        workers=workers,
        kind=kind,
        description=description,
    )
    if outcome.failures:
        first = next(iter(outcome.failures.values()))
        echo(collected.report())
        raise first
    if collected.result is None:  # a run finished but its record cannot be read back
        raise RuntimeError(collected.report())
    result = collected.result
    for rec in result.records:  # what after_run returned here, also when not JSON-able
        mem = outcome.ran.get((rec.variant, rec.task, rec.seed))
        if mem is not None:
            rec.extra = mem.extra
    return result


def run_units(
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
    units: Sequence[int] | None = None,
    command: Sequence[str] = (),
    kind: str = "protocol",
    description: str = "",
    runner: Runner | None = None,
) -> tuple[Collected, UnitsOutcome]:
    """Plan a protocol (as :func:`run_protocol`), write its plan file, do the units
    numbered ``units`` (all by default) and collect the run folders.

    This is what ``--shard K/N`` and ``--units`` run: any subset, in any number of
    processes at once into one output folder (each run folder is locked by its run), and
    the tables are written by whichever process sees the last unit finish.

    Args:
        cfg: the base configuration (as :func:`run_protocol`).
        tasks: task names (as :func:`run_protocol`).
        variants: variants and/or methods (as :func:`run_protocol`).
        seeds: seeds per (task, variant).
        task_builder: builds one task's data.
        echo: where progress lines go.
        bootstrap_resamples: resamples of the single-seed bootstrap.
        after_run: the per-run callback (as :func:`run_protocol`).
        keep: which weight files stay.
        workers: runs done at once by this call.
        kind: what the plan file calls it.
        description: the plan's description line.
        units: the unit numbers (1-based, plan order) to do; ``None``: every unit.
        command: the command line that runs this protocol (stored in the plan: ``--collect``
            prints it with the units left to do).
        runner: what does the selected units (default: this process, or ``workers``
            worker processes); e.g. :func:`~disentangle_fas.training.launch.submitit_runner`.

    Returns:
        The :class:`~disentangle_fas.training.collect.Collected` state of the whole
        protocol after these units (its ``result`` is set when every unit finished) and
        what this call did (:class:`UnitsOutcome`).

    Raises:
        ValueError: as :func:`run_protocol`, or a unit number outside the plan.
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
    jobs = plan_jobs(cfg, names, variants, seed_list, root, keep)
    chosen = select_jobs(jobs, units)
    if workers > 1:
        check_picklable(task_builder=task_builder, after_run=after_run)
    plan = make_plan(
        cfg, jobs, variants, seed_list, bootstrap_resamples, command, kind, description
    )
    write_plan(root, plan, replace=cfg.overwrite)
    echo(scale_line(cfg, names, variants, seeds, workers))
    if len(chosen) < len(jobs):
        echo(f"this process: units {format_units([j.number for j in chosen])} of {len(jobs)}")
    if runner is None:
        outcome = run_jobs(chosen, task_builder, after_run, workers, echo)
    else:
        outcome = runner(chosen, task_builder, after_run, echo)
    collected = collect(root)
    ran = {
        (r.variant, r.task, r.seed): r
        for n, r in outcome.records.items()
        if n not in outcome.reused
    }
    return collected, UnitsOutcome(ran, outcome.failures, len(outcome.reused))


@dataclass
class UnitsOutcome:
    """What one call of :func:`run_units` did.

    Attributes:
        ran: (variant, task, seed) -> the record of each run done by this call (with
            ``after_run``'s return value as it was, stored or not).
        failures: unit number -> error of each run that failed in this call.
        reused: how many selected runs had finished earlier.
    """

    ran: dict[tuple[str, str, int], RunRecord]
    failures: dict[int, BaseException]
    reused: int
