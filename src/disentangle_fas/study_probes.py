"""The study's probe table: which probes, and their scores over runs, tasks and seeds.

:class:`StudyProbes` holds every run's probe scores (from a
:class:`~disentangle_fas.explain.disentanglement.DisentanglementProbes`, or from the JSON
row a run's record stores, e.g. :func:`~disentangle_fas.explain.measure_run`'s) and
renders the table: each probe as a mean over tasks with a 95 % t-interval over seeds,
beside its chance level; then, for measured runs, every figure beside its untrained and
pixel references (:func:`~disentangle_fas.explain.runs_table`) and the time the
measurement added per run.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from disentangle_fas.explain.disentanglement import (
    DisentanglementProbes,
    ProbeTarget,
    expected_level,
)
from disentangle_fas.explain.features import SYMBOLS, Representation
from disentangle_fas.explain.measure_runs import runs_table
from disentangle_fas.metrics.uncertainty import t_interval

__all__ = ["PROBES", "ProbeSpec", "StudyProbes", "probe_row"]


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
            A run measured by :func:`~disentangle_fas.explain.measure_run` also holds
            each figure's references (``"key@untrained"``, ``"key@pixels"``), chance
            (``"key@chance"``), the MLP probes (``"key:mlp"``) and kernel CKAs.
        domain_chance: ``1 / K`` of the domain probes, per task.
        seconds: the measurement's wall time per run, where recorded.
    """

    values: dict[tuple[str, str, int], dict[str, float]] = field(default_factory=dict)
    domain_chance: dict[str, float] = field(default_factory=dict)
    seconds: dict[tuple[str, str, int], float] = field(default_factory=dict)

    def add(
        self, variant: str, task: str, seed: int, probes: DisentanglementProbes | dict[str, Any]
    ) -> None:
        """Record the probes of one run: its :class:`DisentanglementProbes`, or the dict
        :func:`probe_row` made of them (what a run's record stores).
        """
        if isinstance(probes, dict):
            self.values[(variant, task, seed)] = {k: float(v) for k, v in probes["values"].items()}
            if probes.get("domain_chance") is not None:
                self.domain_chance[task] = float(probes["domain_chance"])
            if probes.get("seconds") is not None:
                self.seconds[(variant, task, seed)] = float(probes["seconds"])
            return
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
            "Linear probes fitted on source-train samples and scored on held-out "
            "source-validation samples (%), mean over tasks, 95 % t-interval over seeds:",
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
        if any("@" in k for row in self.values.values() for k in row):
            lines += ["", "Against references (every figure of the runs):", ""]
            lines.append(runs_table(self.values).rstrip("\n"))
        if self.seconds:
            took = list(self.seconds.values())
            lines += [
                "",
                f"The measurement added {sum(took) / len(took):.1f} s per run on average "
                f"(at most {max(took):.1f} s; {len(took)} runs).",
            ]
        return "\n".join(lines) + "\n"

    def to_measures(self) -> list[dict[str, Any]]:
        """One dict per run with every recorded figure (references, MLP probes, CKAs) and
        the measurement's wall time.
        """
        return [
            {"variant": v, "task": t, "seed": s, "seconds": self.seconds.get((v, t, s)),
             "values": dict(row)}
            for (v, t, s), row in self.values.items()
        ]  # fmt: skip

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


def probe_row(probes: DisentanglementProbes) -> dict[str, Any]:
    """The probe scores of one run as JSON values: ``{"values": {key: score},
    "domain_chance": 1 / K or None}`` (what a run's record stores; :meth:`StudyProbes.add`
    reads it).
    """
    table = StudyProbes()
    table.add("", "", 0, probes)
    return {"values": table.values[("", "", 0)], "domain_chance": table.domain_chance.get("")}
