"""The Table 3 study on the built-in benchmark: every ablation variant and SSDG-R on the
paper's eight tasks, over seeds, with the disentanglement probes of every trained model.

:func:`run_study` runs :func:`~disentangle_fas.training.protocol.run_protocol` (the
HTER/AUC tables with mean ± std over seeds and paired-difference intervals) and, after
each run, probes the chosen checkpoint on the task's held-out source-validation samples
(:func:`~disentangle_fas.explain.probe_disentanglement`): domain read from f_L and f_D
(balanced accuracy, chance ``1 / K`` for ``K`` source domains) and liveness read from f_L,
f_C and f_D (AUC, chance 50 %). The probe table gives each of these as a mean over tasks
with a 95 % t-interval over seeds, so "f_L carries no domain information" is a number
with an interval beside its chance level.

Two presets (``disentangle-fas protocol --preset study`` / ``study-cpu``):

* ``study``: the converged scale of the difficulty report (64 px, 200 steps, batch 24,
  600 training and 200 evaluation images per domain), 8 tasks, 5 variants, 5 seeds;
  sized for one GPU.
* ``study-cpu``: the main command's converged scale (ResNet-10, 32 px, 400 steps) on the
  same 8 tasks, 5 variants and 5 seeds, sized for 2 CPU cores.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from disentangle_fas.explain.disentanglement import (
    DisentanglementProbes,
    ProbeTarget,
    expected_level,
    probe_disentanglement,
)
from disentangle_fas.explain.features import SYMBOLS, Representation, extract_features
from disentangle_fas.metrics.uncertainty import t_interval
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
    "run_study",
]


class ProbeSpec(NamedTuple):
    """One column of the probe table.

    Attributes:
        key: column name in CSV/JSON.
        target: the label probed.
        representation: the features it is read from.
        metric: ``"balanced_accuracy"`` (domain) or ``"auc"`` (liveness).
    """

    key: str
    target: ProbeTarget
    representation: Representation
    metric: str

    @property
    def expected(self) -> str:
        """``"high"`` where a disentangled model carries the label, else ``"chance"``."""
        return expected_level(self.target, self.representation)

    @property
    def header(self) -> str:
        """The column's title, e.g. ``"domain from f_L (bal. acc.)"``."""
        metric = "AUC" if self.metric == "auc" else "bal. acc."
        return f"{self.target} from {SYMBOLS[self.representation]} ({metric})"


#: The probes of the study, in table order.
PROBES: tuple[ProbeSpec, ...] = (
    ProbeSpec("domain_from_f_L", "domain", "liveness", "balanced_accuracy"),
    ProbeSpec("domain_from_f_D", "domain", "domain", "balanced_accuracy"),
    ProbeSpec("liveness_from_f_L", "liveness", "liveness", "auc"),
    ProbeSpec("liveness_from_f_C", "liveness", "content", "auc"),
    ProbeSpec("liveness_from_f_D", "liveness", "domain", "auc"),
)


def _cell(values: Sequence[float]) -> str:
    if not values:
        return "–"
    ci = t_interval(values)
    if ci.method == "none":
        return f"{100 * ci.estimate:.1f}"
    return f"{100 * ci.estimate:.1f} ± {100 * (ci.high - ci.estimate):.1f}"


@dataclass
class StudyProbes:
    """Probe scores of every run: ``values[(variant, task, seed)][probe key]``.

    Attributes:
        values: the scores (fractions); a probe the model cannot run (no E_C) is absent.
        domain_chance: ``1 / K`` of the domain probes, per task.
    """

    values: dict[tuple[str, str, int], dict[str, float]] = field(default_factory=dict)
    domain_chance: dict[str, float] = field(default_factory=dict)

    def add(self, variant: str, task: str, seed: int, probes: DisentanglementProbes) -> None:
        """Record the probes of one run."""
        row: dict[str, float] = {}
        for spec in PROBES:
            score = probes.get(spec.target, spec.representation)
            if score is None:
                continue
            value = score.auc if spec.metric == "auc" else score.balanced_accuracy
            if value is not None:
                row[spec.key] = float(value)
            if spec.target == "domain":
                self.domain_chance[task] = score.balanced_chance
        self.values[(variant, task, seed)] = row

    def _per_seed_means(self, variant: str, key: str) -> list[float]:
        """Mean over tasks of ``key`` for each seed of ``variant`` (seeds with every task)."""
        by_seed: dict[int, list[float]] = defaultdict(list)
        for (v, _task, seed), row in self.values.items():
            if v == variant and key in row:
                by_seed[seed].append(row[key])
        return [sum(vals) / len(vals) for _, vals in sorted(by_seed.items())]

    def variants(self) -> list[str]:
        """The variants probed, in run order."""
        return list(dict.fromkeys(v for v, _, _ in self.values))

    def tasks(self) -> list[str]:
        """The tasks probed, in run order."""
        return list(dict.fromkeys(t for _, t, _ in self.values))

    def to_markdown(self) -> str:
        """The probe table (mean over tasks, 95 % t-interval over seeds) and, below it, the
        same per task.
        """
        chances = sorted(set(self.domain_chance.values()))
        chance = "/".join(f"{100 * c:.1f}" for c in chances) or "–"
        head = "| variant | " + " | ".join(s.header for s in PROBES) + " |"
        rule = "| --- |" + " ---: |" * len(PROBES)
        expect = (
            "| chance / disentangled | "
            + " | ".join(
                f"{chance if s.target == 'domain' else '50.0'} / {s.expected}" for s in PROBES
            )
            + " |"
        )
        lines = [
            "Linear probes on held-out source-validation samples (%), mean over tasks, "
            "95 % t-interval over seeds:",
            "",
            head,
            rule,
            expect,
        ]
        for v in self.variants():
            cells = [_cell(self._per_seed_means(v, s.key)) for s in PROBES]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        lines += ["", "Per task (mean ± 95 % t-interval over seeds):", ""]
        lines += ["| variant | task | " + " | ".join(s.key for s in PROBES) + " |"]
        lines += ["| --- | --- |" + " ---: |" * len(PROBES)]
        for v in self.variants():
            for t in self.tasks():
                cells = []
                for s in PROBES:
                    vals = [
                        row[s.key]
                        for (vv, tt, _), row in sorted(self.values.items())
                        if vv == v and tt == t and s.key in row
                    ]
                    cells.append(_cell(vals))
                lines.append(f"| {v} | {t} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per run: variant, task, seed and every probe (``None`` when absent)."""
        return [
            {"variant": v, "task": t, "seed": s, **{p.key: row.get(p.key) for p in PROBES}}
            for (v, t, s), row in self.values.items()
        ]

    def to_csv(self) -> str:
        """The per-run rows as CSV."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ["variant", "task", "seed", *(p.key for p in PROBES)])
        writer.writeheader()
        for row in self.to_rows():
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue()


@dataclass
class StudyResult:
    """The study's tables.

    Attributes:
        protocol: HTER/AUC per seed, mean ± std and paired differences.
        probes: the probe scores of every run.
        description: what was run (the preset's line, or "custom").
        seconds: wall time.
    """

    protocol: ProtocolResult
    probes: StudyProbes
    description: str
    seconds: float

    def to_markdown(self) -> str:
        """Every table of the study, with its description and wall time."""
        return (
            f"# Study\n\n{self.description}\n\nwall time {self.seconds / 60:.1f} min; "
            f"{_env_line(self.protocol.env)}\n\n"
            + self.protocol.to_markdown()
            + "\n## Disentanglement probes\n\n"
            + self.probes.to_markdown()
        )


def _env_line(env: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in env.items())


class ProbeRun:
    """The probes of one trained model (a protocol's ``after_run``; picklable, so it runs
    in the worker process that trained the model).

    Args:
        device: where to extract the features.
    """

    def __init__(self, device: str = "auto") -> None:
        self.device = device

    def __call__(
        self, variant: str, task: TaskData, seed: int, res: TrainResult
    ) -> DisentanglementProbes:
        """Probe ``res``'s chosen checkpoint on ``task``'s source-validation samples."""
        dev = resolve_device(self.device)
        feats = extract_features(res.chosen_model(dev), task.source_val, device=dev)
        return probe_disentanglement(feats, seed=seed)


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

    Returns:
        The :class:`StudyResult`.

    Raises:
        ValueError: an unknown preset name (and whatever
            :func:`~disentangle_fas.training.protocol.run_protocol` refuses).
    """
    if isinstance(preset, str):
        if preset not in STUDY_PRESETS:
            raise ValueError(f"unknown study preset {preset!r}: choose from {list(STUDY_PRESETS)}")
        preset = STUDY_PRESETS[preset]
    cfg = config if config is not None else preset.config
    task_list = list(tasks if tasks is not None else preset.tasks)
    variant_list = list(variants if variants is not None else preset.variants)
    n_seeds = seeds if seeds is not None else preset.seeds
    changed = (
        config is not None
        or list(preset.tasks) != task_list
        or list(preset.variants) != variant_list
        or n_seeds != preset.seeds
    )
    description = (
        f"{preset.description}; changed here: {len(task_list)} tasks x "
        f"{len(variant_list)} variants x {n_seeds} seeds, {cfg.image_size} px, {cfg.steps} steps"
        if changed
        else preset.description
    )
    echo(description)
    probes = StudyProbes()
    t0 = time.perf_counter()
    result = run_protocol(
        cfg,
        tasks=task_list,
        variants=variant_list,
        seeds=n_seeds,
        task_builder=task_builder,
        echo=echo,
        after_run=ProbeRun(cfg.device),
        keep=keep,
        workers=workers,
    )
    for rec in result.records:
        probes.add(rec.variant, rec.task, rec.seed, rec.extra)
        row = probes.values[(rec.variant, rec.task, rec.seed)]
        echo(
            f"  probes of {rec.variant} {rec.task} seed {rec.seed}: "
            + ", ".join(f"{k} {100 * v:.1f}" for k, v in row.items() if not math.isnan(v))
        )
    out = StudyResult(result, probes, description, time.perf_counter() - t0)
    root = Path(cfg.out)
    (root / "study.md").write_text(out.to_markdown())
    (root / "probes.csv").write_text(probes.to_csv())
    (root / "probes.json").write_text(
        json.dumps(
            {"runs": probes.to_rows(), "domain_chance": probes.domain_chance, "env": result.env},
            indent=2,
        )
    )
    return out
