"""A protocol's plan: its units in order (seed, then task, then variant), each run's
configuration and folder, which units a process does, and the plan file's content.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from disentangle_fas.data.protocols import leave_one_out
from disentangle_fas.data.sampler import check_batch_size
from disentangle_fas.methods import resolve_variant
from disentangle_fas.training.config import TrainConfig, settings_for
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.protocol_summary import counted
from disentangle_fas.training.protocol_unit import Job, KeepCheckpoints
from disentangle_fas.training.tasks import protocol_tasks
from disentangle_fas.training.units import Plan, PlanUnit, format_units

__all__ = [
    "check_variants",
    "count_units",
    "make_plan",
    "plan_jobs",
    "scale_line",
    "select_jobs",
]


def count_units(tasks: Sequence[str] | None, variants: Sequence[str], seeds: int) -> int:
    """How many units a protocol of these tasks (all when ``None``), variants and seeds has."""
    names = list(tasks) if tasks is not None else protocol_tasks()
    return len(names) * len(variants) * seeds


def select_jobs(jobs: Sequence[Job], units: Sequence[int] | None) -> list[Job]:
    """The jobs numbered ``units`` (all when ``None``), in plan order.

    Raises:
        ValueError: a number outside ``1..len(jobs)``.
    """
    if units is None:
        return list(jobs)
    wanted = set(units)
    bad = sorted(n for n in wanted if not 1 <= n <= len(jobs))
    if bad:
        raise ValueError(
            f"units {format_units(bad)} are not in this protocol (units 1-{len(jobs)})"
        )
    return [j for j in jobs if j.number in wanted]


def make_plan(
    cfg: TrainConfig,
    jobs: Sequence[Job],
    variants: Sequence[str],
    seed_list: Sequence[int],
    bootstrap_resamples: int,
    command: Sequence[str] = (),
    kind: str = "protocol",
    description: str = "",
) -> Plan:
    """The plan file's content for ``jobs`` (every unit of the protocol)."""
    base = {k: v for k, v in cfg.to_dict().items() if k not in ("resume", "overwrite")}
    return Plan(
        units=tuple(
            PlanUnit(j.number, j.key, j.variant, j.task, j.seed, j.cfg.out, j.fingerprint)
            for j in jobs
        ),
        variants=tuple(variants),
        seeds=tuple(seed_list),
        threshold=cfg.threshold.value,
        checkpoint_policy=cfg.checkpoint_policy.value,
        data=cfg.data,
        bootstrap_resamples=bootstrap_resamples,
        bootstrap_seed=cfg.seed,
        command=tuple(command),
        kind=kind,
        description=description,
        config=base,
    )


def plan_jobs(
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
