"""Run every task of a protocol (and several model variants) over seeds and print the tables.

Seeds ``S .. S+N-1`` change the model initialisation and the batch order; the data (the
synthetic benchmark's renders included) is built with the first seed ``S`` and is the
same for every seed, so it is rendered once.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch

from disentangle_fas.methods import resolve_variant
from disentangle_fas.metrics import Report, video_level
from disentangle_fas.training.config import TrainConfig, settings_for
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.loop import TrainResult, train
from disentangle_fas.training.methods import check_method_settings
from disentangle_fas.training.protocol_stats import (
    SeedSummary,
    TargetScores,
    summaries_csv,
    summarize_seeds,
)
from disentangle_fas.training.scoring import score_dataset
from disentangle_fas.training.tasks import build_task, content_spec, protocol_tasks

__all__ = [
    "KEEP_CHOICES",
    "KeepCheckpoints",
    "ProtocolResult",
    "check_variants",
    "combined_markdown",
    "environment",
    "prune_run",
    "run_protocol",
]

#: What :func:`run_protocol` keeps of each finished run's weight files.
KeepCheckpoints = Literal["all", "chosen", "none"]
KEEP_CHOICES: tuple[str, ...] = get_args(KeepCheckpoints)


def _check_keep(keep: str) -> None:
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, got {keep!r}")


@dataclass
class ProtocolResult:
    """Results of a protocol run.

    Attributes:
        reports: variant -> report of the first seed under the configured threshold
            strategy and checkpoint policy (a published-style single run).
        oracle_reports: variant -> the first seed's report at the oracle threshold (target
            test EER), for comparison with published tables.
        runs: (variant, task) -> the first seed's :class:`TrainResult`.
        data: what the models were trained and tested on.
        seeds: the seeds, in run order.
        per_seed: seed -> variant -> report (configured threshold).
        per_seed_oracle: seed -> variant -> report (oracle threshold).
        summary: mean ± std and paired differences at the configured threshold.
        oracle_summary: the same at the oracle threshold.
        env: torch version, device, thread count and platform of the run.
        threshold: the configured threshold strategy.
    """

    reports: dict[str, Report]
    oracle_reports: dict[str, Report]
    runs: dict[tuple[str, str], TrainResult]
    data: str = "synthetic"
    seeds: list[int] = field(default_factory=list)
    per_seed: dict[int, dict[str, Report]] = field(default_factory=dict)
    per_seed_oracle: dict[int, dict[str, Report]] = field(default_factory=dict)
    summary: SeedSummary | None = None
    oracle_summary: SeedSummary | None = None
    env: dict[str, Any] = field(default_factory=dict)
    threshold: str = "source_val_eer"

    def to_markdown(self) -> str:
        """The aggregate tables over seeds, then every seed's single-run tables; each
        table is followed by the line naming its threshold and checkpoint choice.
        """
        what = "the built-in synthetic benchmark" if self.data == "synthetic" else self.data
        head = f"Data: {what}. HTER and AUC in %, scores averaged per video.\n\n"
        if self.env:
            head += "Run: " + ", ".join(f"{k} {v}" for k, v in self.env.items()) + ".\n\n"
        parts = [head]
        if self.summary is not None and self.oracle_summary is not None:
            parts += [self.summary.to_markdown(), "\n", self.oracle_summary.to_markdown(), "\n"]
        seeds: list[int | None] = list(self.seeds) or [None]
        for seed in seeds:
            honest = self.reports if seed is None else self.per_seed[seed]
            oracle = self.oracle_reports if seed is None else self.per_seed_oracle[seed]
            if seed is not None and len(seeds) > 1:
                parts.append(f"Seed {seed}:\n\n")
            parts += [
                combined_markdown(list(honest.values())),
                "\n",
                combined_markdown(list(oracle.values())),
                "\n",
            ]
        return "".join(parts).rstrip("\n") + "\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict: environment, seeds, aggregates and per-seed reports."""
        out: dict[str, Any] = {"environment": self.env, "seeds": self.seeds, "data": self.data}
        if self.summary is not None and self.oracle_summary is not None:
            out["summary"] = self.summary.to_dict()
            out["oracle_summary"] = self.oracle_summary.to_dict()
        out["per_seed"] = {
            str(s): {v: r.to_dict() for v, r in self.per_seed[s].items()}
            | {f"{v} (oracle threshold)": r.to_dict() for v, r in self.per_seed_oracle[s].items()}
            for s in self.seeds
        }
        return out

    def to_csv(self) -> str:
        """Per-seed values, means, standard deviations and difference intervals (CSV)."""
        if self.summary is None or self.oracle_summary is None:
            return ""
        return summaries_csv(
            {
                self.threshold: self.summary,
                "oracle_target_eer (oracle)": self.oracle_summary,
            }
        )


def combined_markdown(reports: Sequence[Report], digits: int = 2) -> str:
    """One paper-style table with a row per method (every report has the same tasks).

    Raises:
        ValueError: no reports, or reports with different tasks or protocols.
    """
    if not reports:
        raise ValueError("no reports to combine")
    tasks = [t.task for t in reports[0].tasks]
    line = reports[0].protocol_line()
    header = ["Method"] + [f"{t} {m}" for t in tasks for m in ("HTER (%)", "AUC (%)")]
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    for rep in reports:
        if [t.task for t in rep.tasks] != tasks or rep.protocol_line() != line:
            raise ValueError("reports differ in tasks or in threshold/checkpoint protocol")
        cells = [rep.method]
        for t in rep.tasks:
            cells += [f"{100 * t.hter:.{digits}f}", f"{100 * t.auc:.{digits}f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + line + "\n"


def run_protocol(
    cfg: TrainConfig,
    *,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] = ("full",),
    seeds: int = 1,
    task_builder: Callable[[TrainConfig], TaskData] = build_task,
    echo: Callable[[str], None] = print,
    bootstrap_resamples: int = 1000,
    after_run: Callable[[str, TaskData, int, TrainResult], None] | None = None,
    keep: KeepCheckpoints = "all",
) -> ProtocolResult:
    """Train and evaluate ``variants`` on every task, for ``seeds`` seeds.

    The seeds are ``cfg.seed .. cfg.seed + seeds - 1``; each changes the model
    initialisation and batch order, while every task's data is built once with
    ``cfg.seed``. A single seed writes to ``<cfg.out>/<variant>/<task>``, several to
    ``<cfg.out>/<variant>/<task>/seed<S>``. The tables are written to ``<cfg.out>/``
    ``results.md``, ``results.csv`` and ``results.json`` (per-seed values, mean ± std,
    paired differences with 95 % intervals, torch version, device, threads, seeds).

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
        task_builder: builds the data of one task.
        echo: where progress lines go.
        bootstrap_resamples: resamples of the single-seed bootstrap.
        after_run: called as ``after_run(variant, task, seed, result)`` after every run,
            while the task's data is in memory (e.g. to probe the trained model).
        keep: which weight files of a finished run stay on disk (a run of the main preset
            writes about 560 MB of them): ``"all"`` (the resumable state, last, best
            source-validation and oracle checkpoints), ``"chosen"`` (only the checkpoint
            the policy chose) or ``"none"``; ``config.json``, ``log.jsonl`` and
            ``result.json`` always stay. With ``cfg.resume`` a finished run whose chosen
            checkpoint is kept (``"all"``, ``"chosen"``) is evaluated again from it, not
            trained again; one pruned by ``"none"`` is trained again.

    Returns:
        The :class:`ProtocolResult`.

    Raises:
        ValueError: ``seeds < 1``, an unknown variant or an unknown ``keep``.
        SettingsError: a bad method setting (checked before any training).
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    _check_keep(keep)
    names = list(tasks) if tasks is not None else protocol_tasks()
    seed_list = [cfg.seed + i for i in range(seeds)]
    runs: dict[tuple[str, str], TrainResult] = {}
    per_seed: dict[int, dict[str, Report]] = {s: {} for s in seed_list}
    per_seed_oracle: dict[int, dict[str, Report]] = {s: {} for s in seed_list}
    scores: dict[tuple[str, str], TargetScores] = {}
    root = Path(cfg.out)
    check_variants(cfg, variants, names)  # refuse an unknown name before any training
    built: dict[str, TaskData] = {}  # task name -> its data, built with a content target
    for variant in variants:
        results: dict[int, dict[str, Any]] = {s: {} for s in seed_list}
        for name in names:
            data_cfg = _run_config(cfg, variant, name, root)
            task = _shared_task(built, name, data_cfg, task_builder)
            for seed in seed_list:
                sub = root / variant / _slug(name) / f"seed{seed}" if seeds > 1 else None
                run_cfg = data_cfg.replace(seed=seed, out=str(sub) if sub else data_cfg.out)
                res = train(run_cfg, task)
                results[seed][task.name] = res.result
                if seed == seed_list[0]:
                    runs[(variant, task.name)] = res
                if seeds == 1:
                    scores[(variant, task.name)] = _target_scores(res, task, cfg)
                echo(
                    f"[{variant}] {task.name} seed {seed}: HTER {100 * res.metrics.hter:.2f}% "
                    f"AUC {100 * res.metrics.auc:.2f}% ({res.seconds:.0f} s)"
                )
                if after_run is not None:
                    after_run(variant, task, seed, res)
                prune_run(res.checkpoint, keep)
        for seed in seed_list:
            per_seed[seed][variant] = Report.from_results(
                results[seed],
                threshold_strategy=cfg.threshold,
                checkpoint_policy=cfg.checkpoint_policy,
                method=variant,
            )
            per_seed_oracle[seed][variant] = Report.from_results(
                results[seed],
                threshold_strategy="oracle_target_eer",
                checkpoint_policy=cfg.checkpoint_policy,
                method=variant,
            )
    kw: dict[str, Any] = {"resamples": bootstrap_resamples, "bootstrap_seed": cfg.seed}
    oracle_scores = {
        k: TargetScores(v.scores, v.labels, _oracle_threshold(runs[k])) for k, v in scores.items()
    }
    out = ProtocolResult(
        per_seed[seed_list[0]],
        per_seed_oracle[seed_list[0]],
        runs,
        cfg.data,
        seeds=seed_list,
        per_seed=per_seed,
        per_seed_oracle=per_seed_oracle,
        summary=summarize_seeds(per_seed, scores=scores, **kw),
        oracle_summary=summarize_seeds(per_seed_oracle, scores=oracle_scores, **kw),
        env=environment(cfg),
        threshold=cfg.threshold,
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "results.md").write_text(out.to_markdown())
    (root / "results.csv").write_text(out.to_csv())
    (root / "results.json").write_text(json.dumps(out.to_dict(), indent=2))
    return out


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


def _oracle_threshold(res: TrainResult) -> float:
    return float(res.result.oracle.threshold)


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


def _shared_task(
    built: dict[str, TaskData],
    name: str,
    cfg: TrainConfig,
    task_builder: Callable[[TrainConfig], TaskData],
) -> TaskData:
    """The data of task ``name``, built once for every variant and seed.

    Variants differ only in their model and objective, so one build serves them all: a
    variant without a content target gets the built task with ``content=None``, and the
    task is built again only when a variant needs the content target that the first
    build left out.
    """
    needs_content = content_spec(cfg) is not None
    task = built.get(name)
    if task is None or (needs_content and task.content is None):
        task = built[name] = task_builder(cfg)
    return task if needs_content else dataclasses.replace(task, content=None)


def check_variants(
    cfg: TrainConfig, variants: Sequence[str], tasks: Sequence[str] | None = None
) -> None:
    """Check every variant's method and settings as :func:`run_protocol` will use them,
    before any work.

    Raises:
        ValueError: an unknown variant or method.
        SettingsError: a bad method setting.
    """
    names = list(tasks) if tasks else protocol_tasks()
    for variant in variants:
        _run_config(cfg, variant, names[0] if names else cfg.task, Path(cfg.out))


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
