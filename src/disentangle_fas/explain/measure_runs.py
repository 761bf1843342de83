"""Measured disentanglement over several trained runs: every model against its references,
over training seeds (the study's probe table).

After each run a study measures the chosen checkpoint
(:func:`~disentangle_fas.explain.measure.measure_disentanglement`: probes fitted on the
task's source-train samples, scored on its held-out source-validation samples, beside
the untrained architecture and the pooled pixels). :func:`measure_row` keeps, per run,
the mean over probe seeds of each figure for the trained model and both references;
:func:`runs_table` averages them over tasks per training seed and prints, per
variant, trained / untrained / pixels as mean ± 95 % t-interval over training seeds, and
the paired difference trained − untrained with its interval: "below untrained" when the
interval lies below 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import Dataset, Subset

from disentangle_fas.contracts import LivenessModel
from disentangle_fas.explain.features import SYMBOLS, Representation
from disentangle_fas.explain.measure import measure_disentanglement
from disentangle_fas.explain.measure_types import DisentanglementMeasure, MeasureTarget, Metric
from disentangle_fas.explain.names import PROBE_KINDS, ProbeKind
from disentangle_fas.metrics.uncertainty import t_interval
from disentangle_fas.types import FASSample

__all__ = [
    "REFERENCES",
    "STUDY_MEASURES",
    "StudyMeasure",
    "cap_per_domain",
    "measure_row",
    "measure_run",
    "runs_table",
]

#: The references of every figure, as suffixes of its key.
REFERENCES = ("untrained", "pixels")


class StudyMeasure(NamedTuple):
    """One figure of the study's reference table.

    Attributes:
        key: its name in the run's values (``"domain_from_f_L"``, ``"...:mlp"``).
        target: the label probed; representation: the features; kind: the probe kind;
        metric: ``"balanced_accuracy"``, ``"auc"`` or ``"information"`` (usable
            information, kept for the domain: ``"domain_info_from_f_L"``).
    """

    key: str
    target: MeasureTarget
    representation: Representation
    kind: ProbeKind
    metric: Metric

    @property
    def label(self) -> str:
        """E.g. ``"domain from f_L (linear, bal. acc.)"``."""
        metric = {"auc": "AUC", "information": "usable info"}.get(self.metric, "bal. acc.")
        return f"{self.target} from {SYMBOLS[self.representation]} ({self.kind}, {metric})"


def _measures() -> tuple[StudyMeasure, ...]:
    kinds: tuple[ProbeKind, ...] = ("linear", "mlp")
    targets: tuple[tuple[MeasureTarget, Metric], ...] = (
        ("domain", "balanced_accuracy"),
        ("liveness", "auc"),
        ("attack", "balanced_accuracy"),
        ("domain", "information"),
    )
    reps: tuple[Representation, ...] = ("liveness", "content", "domain")
    return tuple(
        StudyMeasure(
            f"{target}{'_info' if metric == 'information' else ''}_from_{SYMBOLS[rep]}"
            + ("" if kind == "linear" else ":mlp"),
            target,
            rep,
            kind,
            metric,
        )
        for kind in kinds
        for target, metric in targets
        for rep in reps
    )


#: Every figure the study keeps per run (those a model cannot give are absent).
STUDY_MEASURES: tuple[StudyMeasure, ...] = _measures()


def measure_row(measure: DisentanglementMeasure) -> dict[str, Any]:
    """One run's figures as JSON values: ``{"values": {key: mean over probe seeds,
    "key@untrained": ..., "key@pixels": ..., "cka f_L ~ domain": ..., ...},
    "domain_chance": 1 / K or None, "seconds": wall time, "n_train": ..., "n_val": ...}``.

    Args:
        measure: the run's measurement.

    Returns:
        The dict (what a run's record stores).
    """
    values: dict[str, float] = {}
    chance = None
    for spec in STUDY_MEASURES:
        row = measure.get(spec.target, spec.representation, spec.kind, spec.metric)
        if row is None:
            continue
        values[spec.key] = row.trained.mean
        values[f"{spec.key}@chance"] = row.chance
        for ref in REFERENCES:
            got = getattr(row, ref)
            if got is not None:
                values[f"{spec.key}@{ref}"] = got.mean
        if spec.target == "domain" and spec.metric == "balanced_accuracy":
            chance = row.chance
    for dep in measure.dependence:
        values[f"cka {dep.name}"] = dep.cka
        if dep.untrained_cka is not None:
            values[f"cka {dep.name}@untrained"] = dep.untrained_cka
        if dep.pixels_cka is not None:
            values[f"cka {dep.name}@pixels"] = dep.pixels_cka
    return {
        "values": values,
        "domain_chance": chance,
        "seconds": measure.seconds,
        "n_train": measure.n_train,
        "n_val": measure.n_val,
    }


def cap_per_domain(domains: NDArray[np.int64], limit: int, *, seed: int = 0) -> list[int]:
    """At most ``limit`` sample indices per domain, drawn with a seeded permutation.

    Args:
        domains: ``(N,)`` domain of each sample.
        limit: the most samples kept per domain (>= 1).
        seed: the draw's seed.

    Returns:
        Sorted indices.

    Example:
        >>> cap_per_domain(np.array([0, 0, 0, 1, 1]), 2)
        [0, 2, 3, 4]
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    rng = np.random.default_rng(seed)
    keep: list[int] = []
    for d in np.unique(domains):
        idx = np.flatnonzero(domains == d)
        keep += [int(i) for i in rng.permutation(idx)[:limit]]
    return sorted(keep)


def measure_run(
    model: LivenessModel,
    train: Dataset[FASSample],
    train_domains: Iterable[int],
    val: Dataset[FASSample] | Iterable[FASSample],
    *,
    seed: int,
    kinds: Sequence[ProbeKind] = PROBE_KINDS,
    probe_seeds: int = 2,
    train_per_domain: int = 100,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Measure one trained run (what a study's ``after_run`` does) and return
    :func:`measure_row` of it.

    Args:
        model: the run's chosen model.
        train: the task's source-train samples; at most ``train_per_domain`` per domain
            are used to fit the probes (:func:`cap_per_domain`, seeded with ``seed``).
        train_domains: the domain of each sample of ``train``.
        val: the task's held-out source-validation samples (the probes are scored here).
        seed: the run's seed: the subset's draw and the untrained copy's initialisation.
        kinds: probe kinds.
        probe_seeds: probe seeds ``0 .. probe_seeds - 1``.
        train_per_domain: the most training samples per domain the probes are fitted on.
        device: where the encoders run.

    Returns:
        ``measure_row(...)``; its ``"seconds"`` is the measurement's wall time.
    """
    keep = cap_per_domain(np.asarray(list(train_domains), dtype=np.int64), train_per_domain,
                          seed=seed)  # fmt: skip
    measure = measure_disentanglement(
        model, Subset(train, keep), val, kinds=kinds, seeds=list(range(probe_seeds)),
        untrained_seed=seed, device=device,
    )  # fmt: skip
    return measure_row(measure)


def _per_seed(
    values: Mapping[tuple[str, str, int], Mapping[str, float]], variant: str, key: str
) -> dict[int, float]:
    """Mean over tasks of ``key`` per training seed of ``variant``."""
    by_seed: dict[int, list[float]] = defaultdict(list)
    for (v, _task, seed), row in values.items():
        if v == variant and key in row:
            by_seed[seed].append(row[key])
    return {s: sum(x) / len(x) for s, x in sorted(by_seed.items())}


def _cell(vals: Sequence[float]) -> str:
    if not vals:
        return "–"
    ci = t_interval(list(vals))
    if ci.method == "none":
        return f"{100 * ci.estimate:.1f}"
    return f"{100 * ci.estimate:.1f} ± {100 * (ci.high - ci.estimate):.1f}"


def _difference(trained: dict[int, float], base: dict[int, float]) -> tuple[str, str]:
    seeds = [s for s in trained if s in base]
    if not seeds:
        return "–", "–"
    diffs = [trained[s] - base[s] for s in seeds]
    ci = t_interval(diffs)
    if ci.method == "none":
        return f"{100 * ci.estimate:+.1f}", "below untrained" if ci.estimate < 0 else "not below"
    cell = f"{100 * ci.estimate:+.1f} [{100 * ci.low:+.1f}, {100 * ci.high:+.1f}]"
    return cell, "below untrained" if ci.high < 0 else "not below"


def runs_table(values: Mapping[tuple[str, str, int], Mapping[str, float]]) -> str:
    """The study's reference-relative table (see the module docstring).

    Args:
        values: ``values[(variant, task, seed)]``: the ``"values"`` of :func:`measure_row`.

    Returns:
        Markdown: one row per variant and figure (probes, then kernel CKA x 100).
    """
    variants = list(dict.fromkeys(v for v, _, _ in values))
    lines = [
        "Probes fitted on each task's source-train samples, scored on its held-out "
        "source-validation samples (%); per run the mean over probe seeds, here the mean over "
        "tasks with a 95 % t-interval over training seeds; the references are the untrained "
        "architecture (initialised with the run's seed) and the images pooled to 8x8. "
        "'below untrained': the interval of the paired difference lies below 0.",
        "",
        "| variant | figure | trained | untrained | pixels | chance | trained − untrained "
        "| verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    figures = [(s.key, s.label) for s in STUDY_MEASURES]
    figures += [(k, f"CKA {k[4:]} (x100)") for k in _cka_keys(values)]
    for v in variants:
        for key, label in figures:
            trained = _per_seed(values, v, key)
            if not trained:
                continue
            refs = {ref: _per_seed(values, v, f"{key}@{ref}") for ref in REFERENCES}
            chance = list(_per_seed(values, v, f"{key}@chance").values())
            diff, verdict = _difference(trained, refs["untrained"])
            lines.append(
                f"| {v} | {label} | {_cell(list(trained.values()))} "
                f"| {_cell(list(refs['untrained'].values()))} "
                f"| {_cell(list(refs['pixels'].values()))} "
                f"| {f'{100 * sum(chance) / len(chance):.1f}' if chance else '0.0'} "
                f"| {diff} | {verdict} |"
            )
    return "\n".join(lines) + "\n"


def _cka_keys(values: Mapping[tuple[str, str, int], Mapping[str, float]]) -> list[str]:
    keys: dict[str, None] = {}
    for row in values.values():
        for k in row:
            if k.startswith("cka ") and "@" not in k:
                keys[k] = None
    return list(keys)
