"""The Table 3 study on the built-in benchmark: every ablation variant and SSDG-R on the
paper's eight tasks, over seeds, with the measured disentanglement of every trained model.

:func:`run_study` runs :func:`~disentangle_fas.training.protocol.run_protocol` (the
HTER/AUC tables with mean ± std over seeds and paired-difference intervals) and, after
each run, measures the chosen checkpoint (:class:`ProbeRun`,
:func:`~disentangle_fas.explain.measure_run`): linear and MLP probes of domain, liveness
and attack type fitted on the task's source-train samples and scored on its held-out
source-validation samples, and kernel CKAs, each beside the untrained architecture and the
pooled pixels. The probe table gives domain from f_L and f_D (balanced accuracy, chance
``1 / K``) and liveness from f_L, f_C and f_D (AUC, chance 50 %) as means over tasks with
a 95 % t-interval over seeds; the reference table below it gives every figure beside its
references with the paired trained − untrained interval over training seeds, so
"f_L carries no domain information" is read against the untrained encoder.

Two presets (``disentangle-fas protocol --preset study`` / ``study-cpu``):

* ``study``: the converged scale of the difficulty report (64 px, 200 steps, batch 24,
  600 training and 200 evaluation images per domain), 8 tasks, 5 variants, 5 seeds;
  sized for one GPU.
* ``study-cpu``: the main command's converged scale (ResNet-10, 32 px, 400 steps) on the
  same 8 tasks, 5 variants and 5 seeds, sized for 2 CPU cores.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from disentangle_fas._io import atomic_write_text
from disentangle_fas.explain.measure_runs import measure_run
from disentangle_fas.explain.names import PROBE_KINDS, ProbeKind
from disentangle_fas.study_probes import PROBES, ProbeSpec, StudyProbes, probe_row
from disentangle_fas.training.config import TrainConfig
from disentangle_fas.training.data import TaskData
from disentangle_fas.training.distributed import resolve_device
from disentangle_fas.training.loop import TrainResult
from disentangle_fas.training.presets import (
    STUDY_PRESETS,
    STUDY_TASKS,
    STUDY_VARIANTS,
    StudyPreset,
)
from disentangle_fas.training.protocol import KeepCheckpoints, ProtocolResult, run_protocol
from disentangle_fas.training.rundir import RESUME_IGNORED_FIELDS
from disentangle_fas.training.tasks import build_task

__all__ = [
    "PROBES",
    "STUDY_PRESETS",
    "STUDY_TASKS",
    "STUDY_VARIANTS",
    "ProbeRun",
    "ProbeSpec",
    "StudyPreset",
    "StudyProbes",
    "StudyResult",
    "StudySetup",
    "probe_row",
    "run_study",
    "study_setup",
    "write_study",
]


@dataclass
class StudyResult:
    """The study's tables.

    Attributes:
        protocol: HTER/AUC per seed, mean ± std and paired differences.
        probes: the probe scores of every run.
        description: what was run (the preset's line, or "custom").
        seconds: the time reported.
        time_label: what ``seconds`` is: ``"wall time"`` of the command that ran the study,
            or ``"run time summed over runs"`` when the tables were collected from records.
    """

    protocol: ProtocolResult
    probes: StudyProbes
    description: str
    seconds: float
    time_label: str = "wall time"

    def to_markdown(self) -> str:
        """Every table of the study, with its description and time."""
        return (
            f"# Study\n\n{self.description}\n\n{self.time_label} {self.seconds / 60:.1f} min; "
            f"{_env_line(self.protocol.env)}\n\n"
            + self.protocol.to_markdown()
            + "\n## Disentanglement probes\n\n"
            + self.probes.to_markdown()
        )


def _env_line(env: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in env.items())


class ProbeRun:
    """The measured disentanglement of one trained model (a protocol's ``after_run``;
    picklable, so it runs in the worker process that trained the model), as
    :func:`~disentangle_fas.explain.measure_run` values: probes fitted on the task's
    source-train samples (at most ``train_per_domain`` per domain) and scored on its
    source-validation samples, beside the untrained architecture (seeded with the run's
    seed) and the pooled pixels, and the kernel CKAs. The row's ``"seconds"`` is the time
    the measurement adds to the run.

    Args:
        device: where to extract the features.
        kinds: probe kinds.
        probe_seeds: probe seeds per run (the table's interval is over training seeds).
        train_per_domain: the most source-train samples per domain the probes fit on.
    """

    def __init__(
        self,
        device: str = "auto",
        *,
        kinds: Sequence[ProbeKind] = PROBE_KINDS,
        probe_seeds: int = 1,
        train_per_domain: int = 100,
    ) -> None:
        self.device = device
        self.kinds = tuple(kinds)
        self.probe_seeds = probe_seeds
        self.train_per_domain = train_per_domain

    def __call__(self, variant: str, task: TaskData, seed: int, res: TrainResult) -> dict[str, Any]:
        """Measure ``res``'s chosen checkpoint on ``task``'s source-train and source-validation
        samples.
        """
        dev = resolve_device(self.device)
        return measure_run(
            res.chosen_model(dev), task.train, task.train_domains, task.source_val, seed=seed,
            kinds=self.kinds, probe_seeds=self.probe_seeds,
            train_per_domain=self.train_per_domain, device=dev,
        )  # fmt: skip


def run_study(
    preset: StudyPreset | str,
    *,
    config: TrainConfig | None = None,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    seeds: int | None = None,
    task_builder: Callable[[TrainConfig], TaskData] = build_task,
    echo: Callable[[str], None] = print,
    keep: KeepCheckpoints = "none",
    workers: int = 1,
    probes: ProbeRun | None = None,
) -> StudyResult:
    """Run the study: the protocol tables and the probes of every trained model.

    Writes, beside the protocol's ``results.*`` in ``config.out``: ``study.md`` (every
    table), ``probes.csv`` and ``probes.json`` (one row per run).

    Args:
        preset: a :class:`StudyPreset` or the name of one in :data:`STUDY_PRESETS`.
        config: the base configuration (default: the preset's).
        tasks: task names (default: the preset's).
        variants: variants and/or method names (default: the preset's).
        seeds: seeds per (task, variant) (default: the preset's).
        task_builder: builds the data of one task.
        echo: where progress lines go.
        keep: which weight files of each run stay on disk after it is probed (see
            :func:`~disentangle_fas.training.protocol.run_protocol`); by default none
            (``study-cpu`` would leave about 44 GB of them).
        workers: runs done at once in worker processes (see
            :func:`~disentangle_fas.training.protocol.run_protocol`).
        probes: the measurement after each run (default: ``ProbeRun(config.device)``).

    Returns:
        The :class:`StudyResult`.

    Raises:
        ValueError: an unknown preset name (and whatever
            :func:`~disentangle_fas.training.protocol.run_protocol` refuses).
    """
    setup = study_setup(preset, config, tasks, variants, seeds)
    echo(setup.description)
    t0 = time.perf_counter()
    result = run_protocol(
        setup.config,
        tasks=setup.tasks,
        variants=setup.variants,
        seeds=setup.seeds,
        task_builder=task_builder,
        echo=echo,
        after_run=probes if probes is not None else ProbeRun(setup.config.device),
        keep=keep,
        workers=workers,
        kind="study",
        description=setup.description,
    )
    return write_study(
        result, setup.description, time.perf_counter() - t0, setup.config.out, echo=echo
    )


class StudySetup(NamedTuple):
    """What a study runs, resolved from its preset and the caller's changes.

    Attributes:
        config: the base configuration.
        tasks: task names.
        variants: variants and/or methods.
        seeds: seeds per (task, variant).
        description: the preset's line, with what was changed.
    """

    config: TrainConfig
    tasks: list[str]
    variants: list[str]
    seeds: int
    description: str


def study_setup(
    preset: StudyPreset | str,
    config: TrainConfig | None = None,
    tasks: Sequence[str] | None = None,
    variants: Sequence[str] | None = None,
    seeds: int | None = None,
) -> StudySetup:
    """Resolve a study's preset and changes (the arguments of :func:`run_study`).

    Raises:
        ValueError: an unknown preset name.
    """
    if isinstance(preset, str):
        if preset not in STUDY_PRESETS:
            raise ValueError(f"unknown study preset {preset!r}: choose from {list(STUDY_PRESETS)}")
        preset = STUDY_PRESETS[preset]
    cfg = config if config is not None else preset.config
    task_list = list(tasks if tasks is not None else preset.tasks)
    variant_list = list(variants if variants is not None else preset.variants)
    n_seeds = seeds if seeds is not None else preset.seeds
    changes: list[str] = []
    if (list(preset.tasks), list(preset.variants), preset.seeds) != (
        task_list,
        variant_list,
        n_seeds,
    ):
        changes.append(f"{len(task_list)} tasks x {len(variant_list)} variants x {n_seeds} seeds")
    base = preset.config.to_dict()
    changes += [
        f"{key}={value}"
        for key, value in cfg.to_dict().items()
        if key not in RESUME_IGNORED_FIELDS and base.get(key) != value
    ]
    description = (
        f"{preset.description}; changed here: {', '.join(changes)}"
        if changes
        else preset.description
    )
    return StudySetup(cfg, task_list, variant_list, n_seeds, description)


def write_study(
    result: ProtocolResult,
    description: str,
    seconds: float,
    out: str | Path,
    echo: Callable[[str], None] = print,
    time_label: str = "wall time",
) -> StudyResult:
    """The study's probe table from its runs' records, written with every table into
    ``out``: ``study.md``, ``probes.csv`` and ``probes.json``.

    Args:
        result: the protocol's tables (each record's ``extra`` holds its probes).
        description: the study's description line.
        seconds: the time reported.
        out: the study's output folder.
        echo: where the per-run probe lines go.
        time_label: what ``seconds`` is (:attr:`StudyResult.time_label`).

    Returns:
        The :class:`StudyResult`.
    """
    probes = StudyProbes()
    for rec in result.records:
        probes.add(rec.variant, rec.task, rec.seed, rec.extra)
        row = probes.values[(rec.variant, rec.task, rec.seed)]
        took = probes.seconds.get((rec.variant, rec.task, rec.seed))
        echo(
            f"  probes of {rec.variant} {rec.task} seed {rec.seed}"
            + ("" if took is None else f" (measured in {took:.1f} s)")
            + ": "
            + ", ".join(
                f"{k} {100 * row[k]:.1f}"
                + "".join(
                    f" / {ref} {100 * row[f'{k}@{ref}']:.1f}"
                    for ref in ("untrained", "pixels")
                    if f"{k}@{ref}" in row
                )
                for k in (p.key for p in PROBES)
                if k in row and not math.isnan(row[k])
            )
        )
    study = StudyResult(result, probes, description, seconds, time_label)
    root = Path(out)
    atomic_write_text(root / "study.md", study.to_markdown())
    atomic_write_text(root / "probes.csv", probes.to_csv())
    atomic_write_text(
        root / "probes.json",
        json.dumps(
            {
                "runs": probes.to_rows(),
                "measures": probes.to_measures(),
                "domain_chance": probes.domain_chance,
                "env": result.env,
            },
            indent=2,
        ),
    )
    return study
